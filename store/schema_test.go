package store_test

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/airlockhq/airlock/internal/testutil"
	"github.com/airlockhq/airlock/store"
)

// TestSchemasAgree: the SQLite and PostgreSQL migrations build the same
// tables, with the same columns and the same indexes (by name and table;
// the indexes the databases make by themselves for primary keys and
// unique constraints aside). A migration written for one dialect only
// fails here.
func TestSchemasAgree(t *testing.T) {
	t.Parallel()
	dsn := testutil.PostgresURL(t)
	if dsn == "" {
		t.Skipf("%s not set: comparing the schemas needs PostgreSQL (CI sets it)", testutil.PostgresEnv)
	}
	lite := schemaOf(t, testutil.OpenStore(t), `
		SELECT m.name || '.' || c.name FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'goose_db_version'`, `
		SELECT tbl_name || ':' || name FROM sqlite_master
		WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%' AND tbl_name <> 'goose_db_version'`)
	pg := schemaOf(t, testutil.OpenURL(t, dsn), `
		SELECT table_name || '.' || column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name <> 'goose_db_version'`, `
		SELECT t.relname || ':' || i.relname FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = 'public' AND t.relname <> 'goose_db_version'
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`)
	for what, pair := range map[string][2][]string{"columns": {lite.columns, pg.columns}, "indexes": {lite.indexes, pg.indexes}} {
		if len(pair[0]) < 10 {
			t.Fatalf("only %d of kind %s found on SQLite: %v", len(pair[0]), what, pair[0])
		}
		if only := missing(pair[0], pair[1]); len(only) > 0 {
			t.Errorf("%s on SQLite only: %s", what, strings.Join(only, ", "))
		}
		if only := missing(pair[1], pair[0]); len(only) > 0 {
			t.Errorf("%s on PostgreSQL only: %s", what, strings.Join(only, ", "))
		}
	}
}

type schema struct{ columns, indexes []string }

func schemaOf(t *testing.T, db *store.DB, columns, indexes string) schema {
	t.Helper()
	return schema{list(t, db.SQL(), columns), list(t, db.SQL(), indexes)}
}

func list(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// missing lists what a holds and b does not.
func missing(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
