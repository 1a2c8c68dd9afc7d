// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @notice A contract that is not a VersionBeacon, for the "wrong address" tests: it has
///         functions with the beacon's names but other return types, and lacks the rest, so
///         reads made with the beacon ABI either revert or return data that does not decode.
contract NotABeacon {
    uint256 public counter = 7;

    /// Same selector as the beacon's rolloutConfig(), but a single word comes back.
    function rolloutConfig() external pure returns (bool) {
        return true;
    }

    function increment() external {
        counter += 1;
    }
}
