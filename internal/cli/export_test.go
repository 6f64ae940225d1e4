package cli

// SetCopyHook sets the hook coffer vault copy calls after each secret version it
// copies (an error stops the copy there) until the test ends.
func SetCopyHook(cleanup func(func()), hook func(copied int) error) {
	copyHook = hook
	cleanup(func() { copyHook = nil })
}
