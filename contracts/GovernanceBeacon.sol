// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import "./VersionBeacon.sol";

/// @title GovernanceBeacon (test stand-in)
/// @notice The write surface the network's governance client encodes
///         (governance/multisig-client: `emergencyRollback(string tier, string reason)` and
///         `publishVersion(uint256 versionId, string semver, string tier, string ipfsHash,
///         (uint8,uint8,uint32) rolloutConfig)`): other parameter names and types than
///         contracts/VersionBeacon.sol, for the tests of binding by name. It keeps
///         VersionBeacon's reads (what noderr reads before and after) and records what the
///         governance writes were called with; the owner only.
contract GovernanceBeacon is VersionBeacon {
    struct GovernanceRollout {
        uint8 canaryPercentage;
        uint8 cohortPercentage;
        uint32 delayBetweenCohorts;
    }

    string public lastRollbackTier;
    string public lastRollbackReason;
    uint256 public rollbacks;

    string public lastPublished;

    event GovernanceRollback(string tier, string reason);
    event GovernancePublished(uint256 indexed versionId, string semver, string tier, string ipfsHash);

    function emergencyRollback(string calldata tier, string calldata reason) external onlyOwner {
        lastRollbackTier = tier;
        lastRollbackReason = reason;
        rollbacks += 1;
        emit GovernanceRollback(tier, reason);
    }

    function publishVersion(
        uint256 versionId,
        string calldata semver,
        string calldata tier,
        string calldata ipfsHash,
        GovernanceRollout calldata rolloutConfig
    ) external onlyOwner {
        lastPublished = string(
            abi.encodePacked(semver, " ", tier, " ", ipfsHash, " ", _u(rolloutConfig.delayBetweenCohorts))
        );
        emit GovernancePublished(versionId, semver, tier, ipfsHash);
    }

    function _u(uint256 value) private pure returns (string memory) {
        if (value == 0) return "0";
        bytes memory digits;
        while (value != 0) {
            digits = abi.encodePacked(bytes1(uint8(48 + (value % 10))), digits);
            value /= 10;
        }
        return string(digits);
    }
}
