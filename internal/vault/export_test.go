package vault

// CheckStore is checkStore for the black-box tests' harness.
var CheckStore = checkStore
