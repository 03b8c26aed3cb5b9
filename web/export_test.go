package web

// SetMaxAuditExport sets the most events a CSV export holds, for a test,
// and returns a function that sets it back.
func SetMaxAuditExport(n int) (restore func()) {
	old := maxAuditExport.Swap(int64(n))
	return func() { maxAuditExport.Store(old) }
}
