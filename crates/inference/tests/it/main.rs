//! Integration tests of verbench-inference (one test binary, per the workspace style).

mod detection;
mod real;
mod tiny;
