// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title VersionBeacon (test stand-in)
/// @notice Exposes exactly the read surface of the deployed, upgradeable VersionBeacon proxy
///         that `noderr rollout status` and `noderr version` read (see
///         noderr_deploy/abi/VersionBeacon.json), plus the writes of
///         noderr_deploy/abi/VersionBeaconWrite.json (what `noderr publish` and
///         `noderr rollback propose` call by default). Writes are the owner's only (the
///         deployer, until `transferOwnership`, e.g. to a Safe); no upgradeability.
contract VersionBeacon {
    enum NodeTier {
        VALIDATOR,
        GUARDIAN,
        ORACLE
    }

    struct Version {
        string versionString;
        string dockerImageTag;
        bytes32 configHash;
        uint256 timestamp;
        address publisher;
        bool isActive;
        bool isEmergencyRollback;
    }

    struct RolloutConfig {
        uint8 canaryPercentage;
        uint8 cohortPercentage;
        uint256 cohortDelayHours;
        bool isActive;
    }

    /// Version ids start at 1; 0 means "no version".
    mapping(uint256 => Version) public versions;
    mapping(NodeTier => uint256) public currentVersionId;
    RolloutConfig public rolloutConfig;
    uint256 public nextVersionId = 1;
    address public owner;

    event VersionPublished(uint256 indexed versionId, NodeTier indexed tier, string versionString);
    event EmergencyRollback(uint256 indexed versionId, NodeTier indexed tier, uint256 fromVersionId);
    event RolloutConfigUpdated(uint8 canaryPercentage, uint8 cohortPercentage, uint256 cohortDelayHours, bool isActive);

    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    modifier onlyOwner() {
        require(msg.sender == owner, "VersionBeacon: caller is not the owner");
        _;
    }

    constructor() {
        rolloutConfig = RolloutConfig(5, 25, 24, true);
        owner = msg.sender;
    }

    function transferOwnership(address newOwner) external onlyOwner {
        require(newOwner != address(0), "VersionBeacon: new owner is the zero address");
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    // ---- reads beyond the public getters ----

    function getCurrentVersion(NodeTier tier) external view returns (Version memory) {
        uint256 id = currentVersionId[tier];
        require(id != 0, "No version for tier");
        return versions[id];
    }

    function getVersion(uint256 versionId) external view returns (Version memory) {
        require(versionId != 0 && versionId < nextVersionId, "Unknown version");
        return versions[versionId];
    }

    function getRolloutConfig() external view returns (RolloutConfig memory) {
        return rolloutConfig;
    }

    // ---- writes (the owner only) ----

    function publishVersion(
        NodeTier tier,
        string memory versionString,
        string memory dockerImageTag,
        bytes32 configHash,
        bool isEmergencyRollback
    ) public onlyOwner returns (uint256 versionId) {
        versionId = nextVersionId++;
        uint256 previous = currentVersionId[tier];
        if (previous != 0) {
            versions[previous].isActive = false;
        }
        versions[versionId] = Version(
            versionString, dockerImageTag, configHash, block.timestamp, msg.sender, true,
            isEmergencyRollback
        );
        currentVersionId[tier] = versionId;
        emit VersionPublished(versionId, tier, versionString);
    }

    function setRolloutConfig(
        uint8 canaryPercentage,
        uint8 cohortPercentage,
        uint256 cohortDelayHours,
        bool isActive
    ) external onlyOwner {
        require(canaryPercentage <= 100 && cohortPercentage <= 100, "Percentage above 100");
        rolloutConfig = RolloutConfig(canaryPercentage, cohortPercentage, cohortDelayHours, isActive);
        emit RolloutConfigUpdated(canaryPercentage, cohortPercentage, cohortDelayHours, isActive);
    }

    /// Re-publish an earlier version of `tier` as its current one, flagged as an emergency
    /// rollback (a new version id, published now, so every cohort is told at once to update).
    function emergencyRollback(NodeTier tier, uint256 toVersionId)
        external
        onlyOwner
        returns (uint256 versionId)
    {
        require(toVersionId != 0 && toVersionId < nextVersionId, "Unknown version");
        uint256 from = currentVersionId[tier];
        Version memory target = versions[toVersionId];
        versionId = publishVersion(tier, target.versionString, target.dockerImageTag, target.configHash, true);
        emit EmergencyRollback(versionId, tier, from);
    }
}
