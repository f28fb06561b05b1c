package store

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"huangong/store/migrations"
	sqlite3 "modernc.org/sqlite/lib"
)

// Error codes. The api package turns each into one HTTP status; nothing
// else in the service decides what a failure looks like to a client.
const (
	EBADREQUEST   = "bad_request"  // the request lacks what every such request needs (a header)
	ENOTFOUND     = "not_found"    // the record does not exist, or the caller may not know it does
	ECONFLICT     = "conflict"     // a unique rule or a state rule refuses the change
	EINVALID      = "invalid"      // the input breaks a rule the schema cannot express
	EPRECONDITION = "precondition" // If-Match named a version that is no longer current
	EUNAUTHORIZED = "unauthorized" // no credentials, or credentials that match nothing
	EFORBIDDEN    = "forbidden"    // known caller, operation not allowed for its role
	ETOOMANY      = "too_many"     // the caller must wait: too many failures, too many streams
	EINTERNAL     = "internal"     // a bug or an unavailable database; details are only logged
)

// Error is the one error type of the domain. Message is safe to show to a
// client; Field names the input at fault (e.g. "body.area") when there is one.
type Error struct {
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns a domain error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error naming the field at fault.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Message: fmt.Sprintf(format, args...), Field: field}
}

// ErrorCode returns the code of a domain error, EINTERNAL for any other
// error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the client-safe message of a domain error; for any
// other error it returns a generic text, since driver messages leak schema.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "内部错误 internal error"
}

// translate turns driver errors into domain errors; what names the record
// ("household 12") so the message says what was missing or clashed.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return Errorf(ENOTFOUND, "未找到 %s not found", what)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return Errorf(ECONFLICT, "已存在 %s already exists", what)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return Errorf(EINVALID, "引用的记录不存在 %s refers to a record that does not exist", what)
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
			return Errorf(EINVALID, "不符合记录规则 %s breaks a rule of the records", what)
		case sqlite3.SQLITE_CONSTRAINT_TRIGGER:
			return Errorf(ECONFLICT, "不可修改 %s cannot be changed", what)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%s: database busy: %w", what, err)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return Errorf(ECONFLICT, "已存在 %s already exists", what)
		case "23503": // foreign_key_violation
			return Errorf(EINVALID, "引用的记录不存在 %s refers to a record that does not exist", what)
		case "23514", "23502": // check_violation, not_null_violation
			return Errorf(EINVALID, "不符合记录规则 %s breaks a rule of the records", what)
		case migrations.PGTriggerRefused:
			// The append-only and balanced-ledger triggers (see the
			// migrations) raise this code, as SQLite's RAISE(ABORT).
			return Errorf(ECONFLICT, "不可修改 %s cannot be changed", what)
		case "40001", "40P01", "55P03": // serialization failure, deadlock, lock not available
			return fmt.Errorf("%s: database busy: %w", what, err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}
