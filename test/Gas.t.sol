// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IDisputeGame} from "../contracts/interfaces/IDisputeGame.sol";
import {Merkle} from "../contracts/libraries/Merkle.sol";
import {Deployers} from "./utils/Deployers.sol";
import {console} from "./utils/console.sol";

/// @notice Whole-transaction gas of the three calls with goals (docs/protocol.md, "Gas"):
/// 21000 + calldata (4 per zero byte, 16 per other byte) + the call's execution gas, measured with
/// every account's storage cooled first, as in a fresh transaction (refunds not subtracted, so the
/// figures are upper bounds). Run `forge test --match-contract GasTest -vv` to print them.
contract GasTest is Deployers {
    uint32 internal constant DEPTH = 20;
    uint32 internal constant BIG = uint32(1) << DEPTH;
    uint32 internal constant INDEX = 777_777;

    bytes32 internal taskId;
    bytes32 internal cid;
    IDisputeGame.Commitment internal c;
    bytes internal bigLeaf;
    bytes32[] internal bigProof;

    function setUp() public {
        deployGame();
        registerOperators(4, 10 ether);
        taskId = registerTask(BIG);
        bigLeaf = makeLeaf(taskId, provider, INDEX, BIG, 0);
        bytes32 node = Merkle.hashLeaf(bigLeaf);
        uint256 i = INDEX;
        for (uint256 d; d < DEPTH; ++d) {
            bigProof.push(keccak256(abi.encode("sibling", d)));
            node = i & 1 == 1 ? Merkle.hashNode(bigProof[d], node) : Merkle.hashNode(node, bigProof[d]);
            i >>= 1;
        }
        (cid, c) = commitAs(provider, taskId, node, BIG);
    }

    function _calldataGas(bytes memory data) internal pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }

    function _report(string memory name, bytes memory data, uint256 execution, uint256 excluded)
        internal
        view
        returns (uint256 total)
    {
        total = 21_000 + _calldataGas(data) + execution - excluded;
        console.log(string.concat(name, " whole-tx gas (upper bound):"), total);
    }

    function _cool() internal {
        vm.cool(address(game));
        vm.cool(address(sm));
    }

    function test_gas_commit() public {
        bytes32 root = keccak256("gas root");
        bytes memory data = abi.encodeCall(
            game.commit,
            (taskId, root, BIG, keccak256("bundle"), 123_456, 0.75e18, "ipfs://bafy-verbench-bundle")
        );
        _cool();
        vm.prank(provider);
        game.commit{value: PROVIDER_BOND}(
            taskId, root, BIG, keccak256("bundle"), 123_456, 0.75e18, "ipfs://bafy-verbench-bundle"
        );
        uint256 total = _report("commit", data, vm.snapshotGasLastCall("commit"), 0);
        vm.assertLe(total, 60_000, "commit goal");
    }

    function test_gas_openDisputeWithLeafDepth20() public {
        bytes memory data = abi.encodeCall(game.openDisputeWithLeaf, (c, INDEX, bigLeaf, bigProof));
        _cool();
        vm.prank(challenger);
        game.openDisputeWithLeaf{value: CHALLENGER_BOND}(c, INDEX, bigLeaf, bigProof);
        // The goal excludes the leaf's calldata bytes.
        uint256 total = _report(
            "openDisputeWithLeaf, depth 20 (leaf bytes excluded)",
            data,
            vm.snapshotGasLastCall("openDisputeWithLeaf depth 20"),
            _calldataGas(bigLeaf)
        );
        vm.assertLe(total, 150_000, "dispute goal");
    }

    function test_gas_resolveThreeSignatures() public {
        vm.prank(challenger);
        game.openDisputeWithLeaf{value: CHALLENGER_BOND}(c, INDEX, bigLeaf, bigProof);
        IDisputeGame.Dispute memory d = expectedDispute(c, cid, challenger, INDEX);
        d.leafHash = Merkle.hashLeaf(bigLeaf);
        d.voteDeadline = uint48(block.timestamp) + VOTING_PERIOD;
        d.status = IDisputeGame.DisputeStatus.Voting;
        bytes32 did = game.disputeIdOf(cid, INDEX);
        (address[] memory signers, IDisputeGame.Sig[] memory sigs) =
            sigsOf(3, did, d.leafHash, IDisputeGame.Outcome.ProviderAtFault);
        bytes memory data =
            abi.encodeCall(game.resolve, (d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs));
        vm.warp(block.timestamp + 1 hours);
        _cool();
        game.resolve(d, IDisputeGame.Outcome.ProviderAtFault, signers, sigs);
        uint256 total =
            _report("resolve, 3 signatures", data, vm.snapshotGasLastCall("resolve 3 signatures"), 0);
        // The 120k goal is NOT met in this fresh state: two credit slots go from zero to non-zero
        // (2 x 22.1k), five checkpoint lookups cost ~28k, and the call that slashes the provider's
        // operator stake (made even when it has none, so that leaving the operator set does not
        // escape it) ~3.7k (docs/protocol.md, "Gas"). This bound guards against regressions only.
        vm.assertLe(total, 160_000, "resolve regression bound");
    }

    function test_gas_revealLeafDepth20() public {
        vm.prank(challenger);
        game.openDispute{value: CHALLENGER_BOND}(c, INDEX);
        IDisputeGame.Dispute memory d = expectedDispute(c, cid, challenger, INDEX);
        d.revealDeadline = uint48(block.timestamp) + REVEAL_WINDOW;
        d.status = IDisputeGame.DisputeStatus.AwaitingReveal;
        bytes memory data = abi.encodeCall(game.revealLeaf, (d, bigLeaf, bigProof));
        vm.warp(block.timestamp + 1 hours);
        _cool();
        vm.prank(provider);
        game.revealLeaf(d, bigLeaf, bigProof);
        _report(
            "revealLeaf, depth 20 (leaf bytes included)",
            data,
            vm.snapshotGasLastCall("revealLeaf depth 20"),
            0
        );
    }
}
