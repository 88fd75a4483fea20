// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DisputeGame} from "../../contracts/DisputeGame.sol";
import {ServiceManager} from "../../contracts/ServiceManager.sol";
import {IDisputeGame} from "../../contracts/interfaces/IDisputeGame.sol";
import {Merkle} from "../../contracts/libraries/Merkle.sol";
import {Deployers} from "../utils/Deployers.sol";
import {MerkleBuilder} from "../utils/MerkleBuilder.sol";
import {Test} from "../utils/Test.sol";
import {Vm} from "../utils/Vm.sol";
import {console} from "../utils/console.sol";

/// @notice Sends ETH to a contract that has no payable entry point (SELFDESTRUCT in the constructor).
contract ForceSender {
    constructor(address payable target) payable {
        selfdestruct(target);
    }
}

/// @notice Drives the game with actors: two providers, two challengers, four operators, an attacker,
/// and a requester whose task carries a fee. Tracks ghost values the invariants compare against the
/// contracts.
contract GameHandler is Test {
    uint32 internal constant N = 4;

    DisputeGame internal immutable game;
    ServiceManager internal immutable sm;
    bytes32 internal immutable taskId;
    /// @dev A second task, with a fee the requester escrowed in setUp.
    bytes32 public immutable feeTaskId;
    address public immutable requester;
    address internal immutable treasury;

    address[] public providers;
    address[] public challengers;
    address public attacker;
    address[] internal operators;
    uint256[] internal operatorKeys;

    struct Com {
        IDisputeGame.Commitment c;
        bytes32 id;
        bool released;
        bool everRejected;
        bool honest;
    }

    struct Dis {
        IDisputeGame.Dispute d;
        bytes32 id;
        bool closed;
    }

    /// @dev A verdict whose signers are not yet paid, as `claimVerdictPay` takes it.
    mapping(bytes32 cid => IDisputeGame.VerdictPay[]) internal _unpaid;
    /// @dev The signatures of the `resolve` in flight (read back with its signers).
    IDisputeGame.Sig[] internal _lastSigs;
    /// @dev The signers of the `resolve` in flight (read back when its DisputeResolved is absorbed).
    address[] internal _lastSigners;

    Com[] internal _coms;
    Dis[] internal _dis;
    mapping(bytes32 cid => bytes[]) internal _data;
    mapping(bytes32 cid => bytes32[]) internal _leaves;

    // Ghosts.
    uint256 public ghostDeposited;
    uint256 public ghostWithdrawn;
    uint256 public ghostForced;
    uint256 public ghostBondsHeld;
    mapping(address => uint256) public ghostWithdrawnBy;
    uint256 public ghostVoteExcess; // > 0 if a vote ever counted more than the checkpoint
    uint256 public ghostReplaySucceeded; // > 0 if a closed dispute ever changed
    uint256 public ghostHonestRejected; // > 0 if a score proof ever rejected consistent scores
    uint256 public ghostFeesHeld; // escrowed fees not yet paid or refunded
    uint256 public ghostFeeSettlements; // FeePaid + FeeRefunded events (at most one per task)
    uint256 public ghostOperatorPayHeld; // verdict pay set aside, not yet claimed
    mapping(bytes32 disputeId => bool) public ghostPayClaimed;
    uint256 public calls;
    /// @dev Successful actions by kind, to show the runs reach every path (see afterInvariant).
    mapping(bytes32 kind => uint256) public hits;

    constructor(
        DisputeGame game_,
        ServiceManager sm_,
        bytes32 taskId_,
        address treasury_,
        address[] memory operators_,
        uint256[] memory keys_,
        bytes32 feeTaskId_,
        address requester_,
        uint256 fee
    ) {
        game = game_;
        sm = sm_;
        taskId = taskId_;
        feeTaskId = feeTaskId_;
        requester = requester_;
        ghostDeposited = fee;
        ghostFeesHeld = fee;
        treasury = treasury_;
        operators = operators_;
        operatorKeys = keys_;
        for (uint256 i; i < 2; ++i) {
            providers.push(makeAddr(string.concat("provider", vm.toString(i))));
            challengers.push(makeAddr(string.concat("challenger", vm.toString(i))));
            vm.deal(providers[i], 1e30);
            vm.deal(challengers[i], 1e30);
        }
        attacker = makeAddr("attacker");
        vm.deal(attacker, 1e30);
    }

    // ---------------------------------------------------------------------------------------
    // Views for the invariants
    // ---------------------------------------------------------------------------------------

    function comCount() external view returns (uint256) {
        return _coms.length;
    }

    function com(uint256 i) external view returns (Com memory) {
        return _coms[i];
    }

    function disCount() external view returns (uint256) {
        return _dis.length;
    }

    function dis(uint256 i) external view returns (Dis memory) {
        return _dis[i];
    }

    function actors() public view returns (address[] memory a) {
        a = new address[](11);
        a[10] = requester;
        a[0] = providers[0];
        a[1] = providers[1];
        a[2] = challengers[0];
        a[3] = challengers[1];
        a[4] = attacker;
        a[5] = treasury;
        for (uint256 i; i < 4; ++i) {
            a[6 + i] = operators[i];
        }
    }

    // ---------------------------------------------------------------------------------------
    // Actions
    // ---------------------------------------------------------------------------------------

    function unpaidCount(bytes32 cid) external view returns (uint256) {
        return _unpaid[cid].length;
    }

    /// @dev mode % 4: 0 honest, 1 a malformed leaf (index 7 at position 1), 2 an inflated claimed
    /// score (100% over leaves that say 37.5%), 3 a broken running sum at leaf 2. An odd `salt`
    /// commits to the task with a fee.
    function commit(uint256 who, uint256 salt, uint256 mode) external {
        ++calls;
        mode %= 4;
        bytes32 tid = salt % 2 == 1 ? feeTaskId : taskId;
        address p = who % 5 == 4 ? attacker : providers[who % 2];
        bytes32[] memory leaves = new bytes32[](N);
        bytes[] memory data = new bytes[](N);
        uint256 sum;
        for (uint256 i; i < N; ++i) {
            uint256 score = i * 0.25e18;
            sum += score;
            data[i] = abi.encode(
                IDisputeGame.LeafV2({
                    version: 2,
                    taskId: tid,
                    provider: p,
                    index: mode == 1 && i == 1 ? 7 : i,
                    leafCount: N,
                    inputHash: keccak256(abi.encode(i)),
                    outputHash: keccak256(abi.encode(salt, i)),
                    toplocHash: bytes32(salt),
                    score: score,
                    scoreSum: mode == 3 && i == 2 ? sum + 1 : sum
                })
            );
            leaves[i] = Merkle.hashLeaf(data[i]);
        }
        // Honest claim: floor(1.5e18 / 4).
        uint256 claimed = mode == 2 ? 1e18 : 0.375e18;
        bytes32 root = MerkleBuilder.root(leaves);
        uint96 bond = game.task(tid).providerBond;
        vm.prank(p);
        try game.commit{value: bond}(tid, root, N, bytes32(salt), 1, claimed, "") returns (bytes32 cid) {
            ghostDeposited += bond;
            ghostBondsHeld += bond;
            Com storage s = _coms.push();
            s.id = cid;
            s.honest = mode == 0;
            s.c = IDisputeGame.Commitment({
                taskId: tid,
                provider: p,
                root: root,
                leafCount: N,
                bond: bond,
                challengeDeadline: uint48(block.timestamp) + game.task(tid).challengeWindow,
                bundleHash: bytes32(salt),
                bundleSize: 1,
                claimedScore: claimed
            });
            for (uint256 i; i < N; ++i) {
                _data[cid].push(data[i]);
                _leaves[cid].push(leaves[i]);
            }
        } catch {}
    }

    /// @dev Anyone tries a score proof on leaf `index` (with its successor when `withNext`).
    function proveScore(uint256 ci, uint256 index, bool withNext, uint256 who) external {
        ++calls;
        if (_coms.length == 0) return;
        Com storage s = _coms[ci % _coms.length];
        uint32 idx = uint32(index % N);
        address prover = who % 3 == 2 ? attacker : challengers[who % 2];
        bytes memory next;
        bytes32[] memory nextProof;
        if (withNext && idx + 1 < N) {
            next = _data[s.id][idx + 1];
            nextProof = MerkleBuilder.prove(_leaves[s.id], idx + 1);
        }
        IDisputeGame.Commitment memory c = s.c;
        vm.recordLogs();
        vm.prank(prover);
        try game.proveScoreFault(
            c, idx, _data[s.id][idx], MerkleBuilder.prove(_leaves[s.id], idx), next, nextProof
        ) {
            if (s.honest) ghostHonestRejected += 1;
            _absorbLogs();
        } catch {}
    }

    function openDispute(uint256 ci, uint256 index, uint256 who, bool withLeaf) external {
        ++calls;
        if (_coms.length == 0) return;
        Com storage s = _coms[ci % _coms.length];
        uint32 idx = uint32(index % N);
        address ch;
        uint256 w = who % 5;
        if (w < 2) ch = challengers[w];
        else if (w == 2) ch = attacker;
        else if (w == 3) ch = s.c.provider; // a provider disputing itself
        else ch = operators[who % 4];
        vm.deal(ch, ch.balance + 1 ether);
        uint96 bond = game.task(taskId).challengerBond;
        IDisputeGame.Commitment memory c = s.c;
        vm.recordLogs();
        vm.prank(ch);
        bool ok;
        if (withLeaf) {
            try game.openDisputeWithLeaf{value: bond}(
                c, idx, _data[s.id][idx], MerkleBuilder.prove(_leaves[s.id], idx)
            ) {
                ok = true;
            } catch {}
        } else {
            try game.openDispute{value: bond}(c, idx) {
                ok = true;
            } catch {}
        }
        if (!ok) return;
        ghostDeposited += bond;
        ghostBondsHeld += bond;
        Dis storage x = _dis.push();
        x.id = game.disputeIdOf(s.id, idx);
        _absorbLogs();
    }

    function reveal(uint256 di) external {
        ++calls;
        if (_dis.length == 0) return;
        Dis storage x = _dis[di % _dis.length];
        if (x.d.status != IDisputeGame.DisputeStatus.AwaitingReveal) return;
        bytes32 cid = x.d.commitmentId;
        IDisputeGame.Dispute memory d = x.d;
        vm.recordLogs();
        vm.prank(x.d.provider);
        try game.revealLeaf(d, _data[cid][d.leafIndex], MerkleBuilder.prove(_leaves[cid], d.leafIndex)) {
            _absorbLogs();
        } catch {}
    }

    function claimWithheld(uint256 di) external {
        ++calls;
        if (_dis.length == 0) return;
        IDisputeGame.Dispute memory d = _dis[di % _dis.length].d;
        vm.recordLogs();
        try game.claimWithheld(d) {
            _absorbLogs();
        } catch {}
    }

    function vote(uint256 di, bool fault, uint256 count) external {
        ++calls;
        if (_dis.length == 0) return;
        IDisputeGame.Dispute memory d = _dis[di % _dis.length].d;
        if (d.status != IDisputeGame.DisputeStatus.Voting) return;
        IDisputeGame.Outcome o = fault ? IDisputeGame.Outcome.ProviderAtFault : IDisputeGame.Outcome.LeafValid;
        count = bound(count, 1, 4);
        address[] memory signers = new address[](count);
        IDisputeGame.Sig[] memory sigs = new IDisputeGame.Sig[](count);
        uint256 k;
        bytes32 digest = game.verdictDigest(
            IDisputeGame.Verdict({disputeId: _dis[di % _dis.length].id, leafHash: d.leafHash, outcome: o})
        );
        for (uint256 i; i < 4 && k < count; ++i) {
            if (operators[i] == d.provider || operators[i] == d.challenger) continue;
            signers[k] = operators[i];
            (sigs[k].r, sigs[k].vs) = vm.signCompact(operatorKeys[i], digest);
            ++k;
        }
        assembly ("memory-safe") {
            mstore(signers, k)
            mstore(sigs, k)
        }
        _lastSigners = signers;
        for (uint256 i; i < k; ++i) {
            _lastSigs.push(sigs[i]);
        }
        vm.recordLogs();
        try game.resolve(d, o, signers, sigs) {
            _absorbLogs();
        } catch {}
        delete _lastSigners;
        delete _lastSigs;
    }

    /// @dev An operator seals a verdict on a dispute: the one it may sign later, or another (`honest`
    /// false), which forfeits its pay if it signs.
    function seal(uint256 di, uint256 oi, bool fault, bool honest) external {
        ++calls;
        if (_dis.length == 0) return;
        Dis storage x = _dis[di % _dis.length];
        IDisputeGame.Outcome o = fault ? IDisputeGame.Outcome.ProviderAtFault : IDisputeGame.Outcome.LeafValid;
        uint256 i = oi % 4;
        bytes32 digest =
            game.verdictDigest(IDisputeGame.Verdict({disputeId: x.id, leafHash: x.d.leafHash, outcome: o}));
        (bytes32 r, bytes32 vs) = vm.signCompact(operatorKeys[i], digest);
        bytes32 s = honest ? keccak256(abi.encode(r, vs)) : keccak256(abi.encode(r, vs, i));
        vm.prank(operators[i]);
        try game.sealVerdict(x.d, s) {
            hits["seal"] += 1;
        } catch {}
    }

    /// @dev Anyone claims the pay of a commitment's unpaid verdicts (all of them, or all but the last:
    /// which the game must refuse).
    function claimPay(uint256 ci, bool dropLast, uint256 who) external {
        ++calls;
        if (_coms.length == 0) return;
        bytes32 cid = _coms[ci % _coms.length].id;
        IDisputeGame.VerdictPay[] memory vs = _unpaid[cid];
        if (dropLast && vs.length != 0) {
            assembly ("memory-safe") {
                mstore(vs, sub(mload(vs), 1))
            }
        }
        address[] memory a = actors();
        vm.recordLogs();
        vm.prank(a[who % a.length]);
        try game.claimVerdictPay(cid, vs) {
            if (dropLast) ghostReplaySucceeded += 1;
            delete _unpaid[cid];
            hits["verdictPay"] += 1;
            _absorbLogs();
        } catch {}
    }

    /// @dev The requester withdraws its fee offer; anyone asks for the refund.
    function cancelFee() external {
        ++calls;
        vm.recordLogs();
        vm.prank(requester);
        try game.cancelFee(feeTaskId) {
            hits["feeCancelled"] += 1;
        } catch {}
    }

    function refundFee(uint256 who) external {
        ++calls;
        address[] memory a = actors();
        vm.recordLogs();
        vm.prank(a[who % a.length]);
        try game.refundFee(feeTaskId) {
            _absorbLogs();
        } catch {}
    }

    function expire(uint256 di) external {
        ++calls;
        if (_dis.length == 0) return;
        IDisputeGame.Dispute memory d = _dis[di % _dis.length].d;
        vm.recordLogs();
        try game.expire(d) {
            _absorbLogs();
        } catch {}
    }

    function finalize(uint256 ci) external {
        ++calls;
        if (_coms.length == 0) return;
        IDisputeGame.Commitment memory c = _coms[ci % _coms.length].c;
        vm.recordLogs();
        try game.finalize(c) {
            _absorbLogs();
            // finalize always releases the bond (a Frozen commitment's without an event).
            _markFinalized(game.commitmentIdOf(c.taskId, c.provider, c.root, c.leafCount));
        } catch {}
    }

    function withdraw(uint256 who) external {
        ++calls;
        address[] memory a = actors();
        address w = a[who % a.length];
        uint256 owed = game.credit(w);
        uint256 before = w.balance;
        vm.prank(w);
        try game.withdraw() {
            ghostWithdrawn += owed;
            hits["withdrawn"] += 1;
            ghostWithdrawnBy[w] += owed;
            if (w.balance != before + owed) ghostReplaySucceeded += 1;
        } catch {}
    }

    function warp(uint256 dt) external {
        ++calls;
        vm.warp(block.timestamp + bound(dt, 1, 2 days));
    }

    function operatorDeposit(uint256 who, uint256 amount) external {
        ++calls;
        address op = operators[who % 4];
        amount = bound(amount, 1, 5 ether);
        vm.deal(op, op.balance + amount);
        vm.prank(op);
        try sm.depositStake{value: amount}() {} catch {}
    }

    /// @dev The attacker forces ETH in without a payable function.
    function attackerForceEth(uint256 amount) external {
        ++calls;
        amount = bound(amount, 1, 1 ether);
        vm.prank(attacker);
        new ForceSender{value: amount}(payable(address(game)));
        ghostForced += amount;
    }

    /// @dev The attacker replays a closed dispute's last state with a fresh quorum of the opposite
    /// outcome, and tries to finalize every commitment.
    function attackerReplay(uint256 di, uint256 ci) external {
        ++calls;
        if (_dis.length != 0) {
            Dis storage x = _dis[di % _dis.length];
            if (x.closed) {
                IDisputeGame.Dispute memory d = x.d;
                bytes32 before = game.disputeHash(x.id);
                address[] memory signers = new address[](0);
                vm.prank(attacker);
                try game.resolve(d, IDisputeGame.Outcome.LeafValid, signers, new IDisputeGame.Sig[](0)) {
                    ghostReplaySucceeded += 1;
                } catch {}
                vm.prank(attacker);
                try game.expire(d) {
                    ghostReplaySucceeded += 1;
                } catch {}
                vm.prank(attacker);
                try game.claimWithheld(d) {
                    ghostReplaySucceeded += 1;
                } catch {}
                if (game.disputeHash(x.id) != before) ghostReplaySucceeded += 1;
            }
        }
        if (_coms.length != 0) {
            Com storage s = _coms[ci % _coms.length];
            IDisputeGame.Commitment memory c = s.c;
            bool was = s.everRejected;
            vm.recordLogs();
            vm.prank(attacker);
            try game.finalize(c) {
                if (was) ghostReplaySucceeded += 1;
                _absorbLogs();
                _markFinalized(s.id);
            } catch {}
        }
    }

    // ---------------------------------------------------------------------------------------
    // Log absorption: the handler follows the game through its events, as a bot would.
    // ---------------------------------------------------------------------------------------

    function _absorbLogs() internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(game)) continue;
            bytes32 sig = logs[i].topics[0];
            if (sig == IDisputeGame.DisputeOpened.selector || sig == IDisputeGame.LeafRevealed.selector) {
                IDisputeGame.Dispute memory d;
                if (sig == IDisputeGame.DisputeOpened.selector) {
                    d = abi.decode(logs[i].data, (IDisputeGame.Dispute));
                } else {
                    (, d) = abi.decode(logs[i].data, (bytes, IDisputeGame.Dispute));
                }
                _find(logs[i].topics[1]).d = d;
            } else if (sig == IDisputeGame.DisputeResolved.selector) {
                (
                    IDisputeGame.Cause cause,
                    uint256 stakeFor,
                    uint256 eligible,
                    IDisputeGame.Dispute memory d
                ) = abi.decode(logs[i].data, (IDisputeGame.Cause, uint256, uint256, IDisputeGame.Dispute));
                hits[_causeName(cause)] += 1;
                Dis storage x = _find(logs[i].topics[1]);
                if (x.closed) ghostReplaySucceeded += 1;
                x.closed = true;
                x.d = d;
                ghostBondsHeld -= d.challengerBond;
                if (cause == IDisputeGame.Cause.Verdict) {
                    // The verdict's pay leaves the bonds and waits for its claim.
                    uint256 pay = uint256(d.challengerBond) * game.operatorPayBps() / 10_000;
                    ghostOperatorPayHeld += pay;
                    IDisputeGame.VerdictPay storage v = _unpaid[d.commitmentId].push();
                    v.disputeId = logs[i].topics[1];
                    v.snapshot = d.snapshot;
                    v.pay = pay;
                    v.stakeEligible = eligible;
                    v.signers = _lastSigners;
                    for (uint256 j; j < _lastSigs.length; ++j) {
                        v.signatures.push(_lastSigs[j]);
                    }
                }
                if (cause == IDisputeGame.Cause.Verdict) {
                    uint256 total = sm.totalStakeAt(d.snapshot);
                    if (stakeFor > eligible || eligible > total) ghostVoteExcess += 1;
                }
                _releaseOnClose(d);
            } else if (sig == IDisputeGame.CommitmentFinalized.selector) {
                hits["finalized"] += 1;
                _markFinalized(logs[i].topics[1]);
            } else if (sig == IDisputeGame.CommitmentRejected.selector) {
                _com(logs[i].topics[1]).everRejected = true;
            } else if (sig == IDisputeGame.FeePaid.selector || sig == IDisputeGame.FeeRefunded.selector) {
                uint256 amount = abi.decode(logs[i].data, (uint256));
                ghostFeesHeld -= amount;
                ghostFeeSettlements += 1;
                hits[sig == IDisputeGame.FeePaid.selector ? bytes32("feePaid") : bytes32("feeRefunded")] += 1;
            } else if (sig == IDisputeGame.VerdictPayClaimed.selector) {
                (uint256 toSigners, uint256 toTreasury) = abi.decode(logs[i].data, (uint256, uint256));
                ghostOperatorPayHeld -= toSigners + toTreasury;
                if (ghostPayClaimed[logs[i].topics[1]]) ghostReplaySucceeded += 1;
                ghostPayClaimed[logs[i].topics[1]] = true;
            } else if (sig == IDisputeGame.ScoreFaultProven.selector) {
                hits["scoreFault"] += 1;
                // A score proof releases the bond (to the prover and the treasury) at once.
                _markFinalized(logs[i].topics[1]);
            }
        }
    }

    /// @dev Mirror of the rule: a provider bond leaves "held" once, on fault or on `finalize`
    /// (which also releases a frozen commitment's bond after its window).
    function _releaseOnClose(IDisputeGame.Dispute memory d) internal {
        Com storage s = _com(d.commitmentId);
        if (s.released) return;
        if (game.commitmentState(d.commitmentId).bondReleased) {
            s.released = true;
            ghostBondsHeld -= s.c.bond;
        }
    }

    function _markFinalized(bytes32 cid) internal {
        Com storage s = _com(cid);
        if (!s.released) {
            s.released = true;
            ghostBondsHeld -= s.c.bond;
        }
    }

    function _causeName(IDisputeGame.Cause cause) internal pure returns (bytes32) {
        if (cause == IDisputeGame.Cause.Verdict) return "verdict";
        if (cause == IDisputeGame.Cause.Withheld) return "withheld";
        if (cause == IDisputeGame.Cause.MalformedLeaf) return "malformed";
        return "noQuorum";
    }

    function _find(bytes32 did) internal view returns (Dis storage) {
        for (uint256 i = _dis.length; i > 0; --i) {
            if (_dis[i - 1].id == did) return _dis[i - 1];
        }
        revert("unknown dispute");
    }

    function _com(bytes32 cid) internal view returns (Com storage) {
        for (uint256 i = _coms.length; i > 0; --i) {
            if (_coms[i - 1].id == cid) return _coms[i - 1];
        }
        revert("unknown commitment");
    }
}

/// @notice Invariants of the dispute game under random sequences of actions.
contract DisputeGameInvariantTest is Deployers {
    uint96 internal constant FEE = 1 ether;

    GameHandler internal handler;

    function setUp() public {
        deployGame();
        registerOperators(4, 10 ether);
        bytes32 t = registerTask(4);
        address requester = makeAddr("requester");
        vm.deal(requester, FEE);
        IDisputeGame.TaskSpec memory spec = defaultSpec(4);
        spec.fee = FEE;
        vm.prank(requester);
        bytes32 feeTask = game.registerTask{value: FEE}(spec);
        handler = new GameHandler(game, sm, t, treasury, operators, operatorKeys, feeTask, requester, FEE);
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](17);
        selectors[0] = GameHandler.commit.selector;
        selectors[1] = GameHandler.openDispute.selector;
        selectors[2] = GameHandler.reveal.selector;
        selectors[3] = GameHandler.claimWithheld.selector;
        selectors[4] = GameHandler.vote.selector;
        selectors[5] = GameHandler.expire.selector;
        selectors[6] = GameHandler.finalize.selector;
        selectors[7] = GameHandler.withdraw.selector;
        selectors[8] = GameHandler.warp.selector;
        selectors[9] = GameHandler.operatorDeposit.selector;
        selectors[10] = GameHandler.attackerForceEth.selector;
        selectors[11] = GameHandler.attackerReplay.selector;
        selectors[12] = GameHandler.proveScore.selector;
        selectors[13] = GameHandler.claimPay.selector;
        selectors[14] = GameHandler.cancelFee.selector;
        selectors[15] = GameHandler.refundFee.selector;
        selectors[16] = GameHandler.seal.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    function _sumCredits() internal view returns (uint256 sum) {
        address[] memory a = handler.actors();
        for (uint256 i; i < a.length; ++i) {
            sum += game.credit(a[i]);
        }
    }

    /// @dev What the game owes beyond credits: bonds held, fees in escrow, verdict pay not yet claimed.
    function _held() internal view returns (uint256) {
        return handler.ghostBondsHeld() + handler.ghostFeesHeld() + handler.ghostOperatorPayHeld();
    }

    /// @custom:invariant The game's balance covers what it owes (bonds held + escrowed fees + unclaimed verdict pay + credits); forced ETH only adds.
    function invariant_solvent() public view {
        uint256 owed = _held() + _sumCredits();
        vm.assertGe(address(game).balance, owed, "balance covers bonds, fees, verdict pay and credits");
        vm.assertEq(address(game).balance, owed + handler.ghostForced(), "balance is exactly owed + forced");
    }

    /// @custom:invariant Nobody is paid twice: deposits (bonds and fees) = withdrawals + credits + bonds held + fees in escrow + unclaimed verdict pay.
    function invariant_nobodyPaidTwice() public view {
        vm.assertEq(
            handler.ghostDeposited(),
            handler.ghostWithdrawn() + _sumCredits() + _held(),
            "every deposited wei is in exactly one place"
        );
        vm.assertEq(handler.ghostReplaySucceeded(), 0, "no double payment or replay");
    }

    /// @custom:invariant A fee is paid or refunded at most once, and what the game says is in escrow is what was never paid out.
    function invariant_feePaidAtMostOnce() public view {
        vm.assertLe(handler.ghostFeeSettlements(), 1, "one fee, settled at most once");
        vm.assertEq(uint256(game.taskFee(handler.feeTaskId()).amount), handler.ghostFeesHeld(), "escrow");
    }

    /// @custom:invariant A commitment has an unpaid-verdict chain exactly while some verdict on it is unpaid.
    function invariant_unpaidVerdictsTracked() public view {
        uint256 n = handler.comCount();
        for (uint256 i; i < n; ++i) {
            bytes32 id = handler.com(i).id;
            vm.assertEq(
                game.unpaidVerdicts(id) != bytes32(0),
                handler.unpaidCount(id) != 0,
                "chain iff unpaid verdicts"
            );
        }
    }

    /// @custom:invariant A score proof never rejects a commitment whose scores and claim are consistent.
    function invariant_scoreProofNeverRejectsHonest() public view {
        vm.assertEq(handler.ghostHonestRejected(), 0, "honest scores never rejected");
    }

    /// @custom:invariant A rejected commitment never finalizes (and stays rejected).
    function invariant_rejectedNeverFinalizes() public view {
        uint256 n = handler.comCount();
        for (uint256 i; i < n; ++i) {
            GameHandler.Com memory s = handler.com(i);
            if (s.everRejected) {
                vm.assertEq(
                    uint8(game.commitmentState(s.id).status),
                    uint8(IDisputeGame.CommitmentStatus.Rejected),
                    "rejected stays rejected"
                );
            }
        }
    }

    /// @custom:invariant A resolved dispute never changes: its stored hash is the one its final event carried.
    function invariant_resolvedDisputeNeverChanges() public view {
        uint256 n = handler.disCount();
        for (uint256 i; i < n; ++i) {
            GameHandler.Dis memory x = handler.dis(i);
            if (x.closed) {
                vm.assertEq(game.disputeHash(x.id), keccak256(abi.encode(x.d)), "final state kept");
                vm.assertTrue(
                    uint8(x.d.status) >= uint8(IDisputeGame.DisputeStatus.ProviderAtFault), "final status"
                );
            }
        }
    }

    /// @custom:invariant Stake counted in a verdict never exceeds the eligible stake, nor that the total checkpoint.
    function invariant_voteStakeWithinCheckpoint() public view {
        vm.assertEq(handler.ghostVoteExcess(), 0, "vote stake within checkpoint");
    }

    /// @dev A fixed sequence through the handler reaches every path (guards against a handler that
    /// silently does nothing).
    function test_handler_reachesEveryPath() public {
        handler.commit(0, 1, 0);
        handler.commit(1, 2, 1);
        handler.openDispute(0, 0, 0, true); // verdict
        handler.openDispute(0, 1, 1, false); // withheld
        handler.openDispute(0, 2, 1, true); // no quorum
        handler.openDispute(1, 1, 0, true); // malformed
        handler.vote(0, true, 3);
        handler.claimPay(0, true, 0); // all but the last: refused
        handler.claimPay(0, false, 0);
        handler.warp(2 days);
        handler.claimWithheld(1);
        handler.warp(2 days);
        handler.warp(1);
        handler.expire(2);
        handler.commit(0, 3, 0);
        handler.warp(2 days);
        handler.warp(2 days);
        handler.finalize(2);
        handler.withdraw(2);
        // Score proofs: an honest commitment resists every leaf and pair; an inflated claim and a
        // broken running sum are each rejected without a vote.
        handler.commit(0, 4, 0);
        handler.commit(1, 5, 2);
        handler.commit(0, 6, 3);
        for (uint256 i; i < 4; ++i) {
            handler.proveScore(3, i, false, 0);
            handler.proveScore(3, i, true, 1);
        }
        handler.proveScore(4, 3, false, 0);
        handler.proveScore(5, 1, true, 2);
        vm.assertEq(handler.hits("scoreFault"), 2, "score faults");
        invariant_scoreProofNeverRejectsHonest();
        vm.assertEq(handler.hits("verdict"), 1, "verdict");
        vm.assertEq(handler.hits("withheld"), 1, "withheld");
        vm.assertEq(handler.hits("malformed"), 1, "malformed");
        vm.assertEq(handler.hits("noQuorum"), 1, "no quorum");
        vm.assertEq(handler.hits("finalized"), 1, "finalized");
        vm.assertEq(handler.hits("withdrawn"), 1, "withdrawn");
        vm.assertEq(handler.hits("verdictPay"), 1, "verdict pay");
        // The fee task: an accepted commitment earns the fee; a second offer cannot be refunded after it.
        handler.commit(0, 7, 0);
        handler.warp(2 days);
        handler.warp(2 days);
        handler.finalize(6);
        vm.assertEq(handler.hits("feePaid"), 1, "fee paid");
        handler.cancelFee();
        handler.refundFee(0);
        vm.assertEq(handler.hits("feeRefunded"), 0, "nothing left to refund");
        invariant_feePaidAtMostOnce();
        invariant_unpaidVerdictsTracked();
        invariant_solvent();
        invariant_nobodyPaidTwice();
        invariant_resolvedDisputeNeverChanges();
    }

    /// @dev Prints how often each path was reached in the last run (forge test -vv).
    function afterInvariant() public view {
        console.log("verdict resolutions", handler.hits("verdict"));
        console.log("withheld", handler.hits("withheld"));
        console.log("malformed", handler.hits("malformed"));
        console.log("no quorum", handler.hits("noQuorum"));
        console.log("finalized", handler.hits("finalized"));
        console.log("withdrawn", handler.hits("withdrawn"));
        console.log("score faults", handler.hits("scoreFault"));
        console.log("verdict pay claims", handler.hits("verdictPay"));
        console.log("verdict seals", handler.hits("seal"));
        console.log("fees paid", handler.hits("feePaid"));
        console.log("fees refunded", handler.hits("feeRefunded"));
        console.log("disputes", handler.disCount());
    }

    /// @custom:invariant The service manager holds at least all active and unbonding stake plus slashed funds.
    function invariant_serviceManagerSolvent() public view {
        uint256 owed = sm.slashedPending();
        for (uint256 i; i < operators.length; ++i) {
            owed += uint256(sm.operatorInfo(operators[i]).stake) + sm.operatorInfo(operators[i]).unbonding;
        }
        vm.assertGe(address(sm).balance, owed, "stake covered");
    }
}
