// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DisputeGame} from "../contracts/DisputeGame.sol";
import {ServiceManager} from "../contracts/ServiceManager.sol";
import {IOperatorSet} from "../contracts/interfaces/IOperatorSet.sol";
import {Vm} from "../test/utils/Vm.sol";

/// @notice Deploys the ServiceManager and the DisputeGame and writes their addresses to
/// `deployments/<chainId>.json` of this checkout. To deploy either back end to any RPC and write
/// the file elsewhere, use `verbench-devnet deploy --backend native|eigenlayer --out <file>`.
///
/// `forge script script/Deploy.s.sol --rpc-url $RPC --broadcast --private-key $KEY`
///
/// Parameters come from the environment, with the local defaults in brackets: TREASURY [deployer],
/// UNBONDING_DELAY [14 days], MIN_STAKE [1 ether], CHALLENGER_SHARE_BPS [5000], QUORUM_BPS [6667],
/// REVEAL_WINDOW [1 day], VOTING_PERIOD [2 days]. Nothing can be changed after deployment.
contract Deploy {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev Marks this contract as a script (forge-std convention).
    bool public IS_SCRIPT = true;

    function run() external returns (ServiceManager sm, DisputeGame game) {
        vm.startBroadcast();
        // With a single --private-key, forge makes that key the script's sender.
        address deployer = msg.sender;
        address treasury = vm.envOr("TREASURY", deployer);
        uint48 unbondingDelay = uint48(vm.envOr("UNBONDING_DELAY", uint256(14 days)));
        uint256 minStake = vm.envOr("MIN_STAKE", uint256(1 ether));
        uint16 share = uint16(vm.envOr("CHALLENGER_SHARE_BPS", uint256(5000)));
        uint16 quorum = uint16(vm.envOr("QUORUM_BPS", uint256(6667)));
        uint32 revealWindow = uint32(vm.envOr("REVEAL_WINDOW", uint256(1 days)));
        uint32 votingPeriod = uint32(vm.envOr("VOTING_PERIOD", uint256(2 days)));

        // The ServiceManager names its only slasher, the game, deployed right after it.
        address predicted = vm.computeCreateAddress(deployer, vm.getNonce(deployer) + 1);
        sm = new ServiceManager(predicted, treasury, unbondingDelay, minStake);
        game = new DisputeGame(IOperatorSet(address(sm)), treasury, share, quorum, revealWindow, votingPeriod);
        require(address(game) == predicted, "Deploy: game address prediction failed");
        vm.stopBroadcast();

        // The same fields as the Rust deployer's `Deployment` (crates/chain/src/deploy.rs); the
        // chain crate's tests compare the two.
        string memory key = "deployment";
        vm.serializeString(key, "backend", "native");
        vm.serializeUint(key, "chainId", block.chainid);
        vm.serializeAddress(key, "deployer", deployer);
        vm.serializeAddress(key, "treasury", treasury);
        vm.serializeUint(key, "blockNumber", block.number);
        vm.serializeAddress(key, "serviceManager", address(sm));
        string memory json = vm.serializeAddress(key, "disputeGame", address(game));
        vm.writeJson(
            json, string.concat(vm.projectRoot(), "/deployments/", vm.toString(block.chainid), ".json")
        );
    }
}
