package audit

// Fsyncs returns how many fsyncs l has made of its file.
func Fsyncs(l *File) int64 { return l.fsyncs.Load() }
