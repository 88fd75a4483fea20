//! Integration tests of verbench-inference (one test binary, per the workspace style).

mod real;
mod tiny;
