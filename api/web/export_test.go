package web

// Text is the catalogue's lookup, for the tests.
var Text = text

// SetNoticeRowsPerSheet sets how many household lines a notice sheet
// shows, and returns a function that puts it back.
func SetNoticeRowsPerSheet(n int) func() {
	was := noticeRowsPerSheet
	noticeRowsPerSheet = n
	return func() { noticeRowsPerSheet = was }
}
