package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// The ledger's write path: what post reads and writes inside its
// transaction, as statements prepared once and reused. Unlike the rest of
// the store they are SQLite's SQL, not bun's query builder (json_each,
// ->>, "?" placeholders); PostgreSQL's text is pgLedgerSQL.

// ledgerStmts are the statements of the posting path, prepared once on the
// *sql.DB when the store opens; database/sql then prepares each once per
// connection and reuses it. A bun query writes its arguments into the SQL
// text, so SQLite would compile it (and the triggers it fires) afresh on
// every posting, which cost more than running it. These bind "?" arguments
// in the driver and their text never changes.
type ledgerStmts struct {
	read, entries, transaction, balances *sql.Stmt
}

type ledgerStatements struct{ read, entries, transaction, balances string }

var ledgerSQL = ledgerStatements{
	// What a posting needs before it writes, in one statement. Its first
	// row: the village's timezone (no row: no village), the next
	// transaction and entry IDs (writes are serialised by the IMMEDIATE
	// transaction and nothing is ever deleted, so they are the IDs SQLite
	// would assign), whether the idempotency key was used, whether the
	// source or a revision of it ("12/2") posted before (a range the
	// UNIQUE(village, kind, source) index answers; '/' < '0'), and the
	// village fund's account. Then a row for each household named (a JSON
	// array of IDs, so the text is the same for any number) that has an
	// account in the village, with whether the fund covers the help it
	// receives (exempt, or the assisted policy: chosen, or by default
	// when vulnerable; see Household.FundCovers).
	read: `SELECT v.timezone, (SELECT COALESCE(MAX(id), 0) + 1 FROM ledger_transactions),
			(SELECT COALESCE(MAX(id), 0) + 1 FROM ledger_entries),
			EXISTS (SELECT 1 FROM ledger_transactions WHERE village_id = v.id AND idempotency_key = ?2),
			EXISTS (SELECT 1 FROM ledger_transactions WHERE village_id = v.id AND source_kind = ?3
				AND source_id >= ?4 AND source_id < ?4 || '0' AND (source_id = ?4 OR source_id > ?4 || '/')),
			a.id, a.key, a.household_id, a.balance, a.created_at, NULL
		FROM villages AS v LEFT JOIN accounts AS a ON a.village_id = v.id AND a.key = '` + FundKey + `'
		WHERE v.id = ?1
		UNION ALL
		SELECT NULL, NULL, NULL, NULL, NULL, a.id, a.key, a.household_id, a.balance, a.created_at, ` + fundCoversSQL + `
		FROM json_each(?5) AS j CROSS JOIN accounts AS a ON a.household_id = j.value
		JOIN households AS h ON h.id = a.household_id
		WHERE a.village_id = ?1`,
	// A transaction's entries, numbered from ?2, from a JSON array of
	// [account, amount], before its row: see the ledger migration's
	// triggers.
	entries: `INSERT INTO ledger_entries (id, transaction_id, account_id, amount)
		SELECT ?2 + key, ?1, value ->> 0, value ->> 1 FROM json_each(?3)`,
	transaction: `INSERT INTO ledger_transactions (id, village_id, kind, memo, actor, source_kind, source_id,
		idempotency_key, request_hash, reverses_id, beneficiary_id, entry_count, date, posted_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	// Every account the posting moves, from a JSON array of [account,
	// amount, given, received]: its balance by its entry, and its help
	// given and received on jobs (see line), in one statement.
	balances: `UPDATE accounts SET balance = balance + (j.value ->> 1), given = given + (j.value ->> 2),
		received = received + (j.value ->> 3)
		FROM json_each(?1) AS j WHERE accounts.id = j.value ->> 0`,
}

// prepareLedger prepares the posting path's statements.
func (s *Store) prepareLedger(ctx context.Context) error {
	ledgerSQL := ledgerSQL
	if s.Postgres() {
		ledgerSQL = pgLedgerSQL
	}
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&s.stmts.read, ledgerSQL.read}, {&s.stmts.entries, ledgerSQL.entries}, {&s.stmts.transaction, ledgerSQL.transaction},
		{&s.stmts.balances, ledgerSQL.balances},
	} {
		st, err := s.db.DB.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("store: prepare ledger statement: %w", err)
		}
		*p.dst = st
	}
	return nil
}

// closeLedger closes the prepared statements.
func (s *Store) closeLedger() {
	for _, st := range []*sql.Stmt{s.stmts.read, s.stmts.entries, s.stmts.transaction, s.stmts.balances} {
		if st != nil {
			st.Close()
		}
	}
}

// ledgerStmt is a prepared statement bound to db's transaction (prepared
// on its connection the first time); the caller closes it. A posting
// always runs in a write transaction.
func (s *Store) ledgerStmt(ctx context.Context, db bun.IDB, st *sql.Stmt) (*sql.Stmt, error) {
	switch tx := db.(type) {
	case bun.Tx:
		return tx.Tx.StmtContext(ctx, st), nil
	case *bun.Tx:
		return tx.Tx.StmtContext(ctx, st), nil
	}
	return nil, fmt.Errorf("ledger: a posting runs in a write transaction, not on %T", db)
}

// postContext is what readPosting found.
type postContext struct {
	village      *Village // with its timezone only
	nextID       int64    // the new transaction's
	nextEntryID  int64    // its first entry's
	keyUsed      bool     // the idempotency key posted before
	sourcePosted bool     // the source, or a revision of it, posted before
	accounts     *postingAccounts
}

// readPosting reads a posting's context and accounts in one statement.
func (s *Store) readPosting(ctx context.Context, db bun.IDB, p Posting, m txMeta) (*postContext, error) {
	ids, err := json.Marshal(m.households)
	if err != nil {
		return nil, err
	}
	var key, source any // NULL matches nothing
	if p.IdempotencyKey != "" {
		key = p.IdempotencyKey
	}
	if m.source != "" {
		source = m.source
	}
	stmt, err := s.ledgerStmt(ctx, db, s.stmts.read)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	rows, err := stmt.QueryContext(ctx, p.VillageID, key, m.kind, source, string(ids))
	if err != nil {
		return nil, translate(err, "posting")
	}
	defer rows.Close()
	var pc *postContext
	accounts := &postingAccounts{households: make(map[int64]*Account, len(m.households))}
	for rows.Next() {
		var (
			tz                    sql.NullString
			nextID, nextEntryID   sql.NullInt64
			keyUsed, sourcePosted sql.NullBool
			id                    sql.NullInt64
			key                   sql.NullString
			householdID           *int64
			balance               sql.NullInt64
			createdAt             sql.NullTime
			fundCovers            sql.NullBool
		)
		if err := rows.Scan(&tz, &nextID, &nextEntryID, &keyUsed, &sourcePosted, &id, &key, &householdID, &balance, &createdAt, &fundCovers); err != nil {
			return nil, translate(err, "posting")
		}
		if tz.Valid {
			pc = &postContext{village: &Village{ID: p.VillageID, Timezone: tz.String},
				nextID: nextID.Int64, nextEntryID: nextEntryID.Int64, keyUsed: keyUsed.Bool, sourcePosted: sourcePosted.Bool, accounts: accounts}
		}
		if !id.Valid {
			continue // a village without a fund account
		}
		a := &Account{ID: id.Int64, VillageID: p.VillageID, Key: key.String, HouseholdID: householdID, Balance: balance.Int64, CreatedAt: createdAt.Time}
		if householdID == nil {
			accounts.fund = a
			continue
		}
		// Exempt stands for FundCovers: the posting reads only that.
		a.Household = &Household{ID: *householdID, Exempt: fundCovers.Bool}
		accounts.households[*householdID] = a
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err, "posting")
	}
	if pc == nil {
		return nil, translate(sql.ErrNoRows, fmt.Sprintf("village %d", p.VillageID))
	}
	if accounts.fund == nil && len(m.households) > 0 {
		return nil, Errorf(ENOTFOUND, "未找到 village fund account not found")
	}
	return pc, nil
}

// writePosting writes a transaction's entries (the lines with an
// amount), numbered from firstEntryID, then its row (the database accepts
// it only if its entries are all there and sum to zero: see the ledger
// migration's triggers), then moves the accounts' balances and totals; it
// fills in the entries and the accounts' new figures.
func (s *Store) writePosting(ctx context.Context, db bun.IDB, t *Transaction, firstEntryID int64, lines []line) error {
	entries := entryLines(lines)
	moves := make([][2]int64, len(entries))
	t.Entries = make([]*Entry, len(entries))
	for i, l := range entries {
		moves[i] = [2]int64{l.account.ID, l.amount}
		t.Entries[i] = &Entry{ID: firstEntryID + int64(i), TransactionID: t.ID, AccountID: l.account.ID, Amount: l.amount, Account: l.account}
	}
	js, err := json.Marshal(moves)
	if err != nil {
		return err
	}
	totals := make([][4]int64, len(lines))
	for i, l := range lines {
		totals[i] = [4]int64{l.account.ID, l.amount, l.given, l.received}
	}
	tjs, err := json.Marshal(totals)
	if err != nil {
		return err
	}
	res, err := s.execLedger(ctx, db, s.stmts.entries, t.ID, firstEntryID, string(js))
	if err != nil {
		return translate(err, "ledger entries")
	}
	if n, _ := res.RowsAffected(); n != int64(len(entries)) {
		return fmt.Errorf("ledger entries: %d of %d written", n, len(entries))
	}
	_, err = s.execLedger(ctx, db, s.stmts.transaction, t.ID, t.VillageID, t.Kind, t.Memo, t.Actor, t.SourceKind, t.SourceID,
		t.IdempotencyKey, t.RequestHash, t.ReversesID, t.BeneficiaryID, t.EntryCount, t.Date, bunTime(t.PostedAt))
	if err != nil {
		return translate(err, "transaction")
	}
	if res, err = s.execLedger(ctx, db, s.stmts.balances, string(tjs)); err != nil {
		return translate(err, "account balances")
	}
	if n, _ := res.RowsAffected(); n != int64(len(lines)) {
		return fmt.Errorf("account balances: %d of %d updated", n, len(lines))
	}
	for _, l := range lines {
		l.account.Balance += l.amount
		l.account.Given += l.given
		l.account.Received += l.received
	}
	return nil
}

// execLedger runs one of the prepared statements in db's transaction.
func (s *Store) execLedger(ctx context.Context, db bun.IDB, st *sql.Stmt, args ...any) (sql.Result, error) {
	stmt, err := s.ledgerStmt(ctx, db, st)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	return stmt.ExecContext(ctx, args...)
}

// bunTime formats an instant as bun writes one to SQLite, so that a row
// written by a prepared statement reads back like any other.
func bunTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.999999-07:00") }
