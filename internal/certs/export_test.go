package certs

// Whitebox hooks for the external tests.
var (
	ParseSubject  = parseSubject
	FormatSubject = formatSubject
)
