import AnimaCore
import GRDB

/// The database schema and its migrations; a new version is a new migration, never an edit.
extension SQLiteBackend {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);
                    CREATE TABLE records(
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        user TEXT NOT NULL, agent TEXT NOT NULL, kind INTEGER NOT NULL,
                        created_at REAL NOT NULL,
                        sealed BLOB NOT NULL,
                        terms TEXT NOT NULL,
                        sealed_vector BLOB);
                    CREATE INDEX records_by_namespace ON records(user, agent, kind, created_at);
                    CREATE VIRTUAL TABLE record_terms USING fts5(terms, content='records', content_rowid='id');
                    CREATE TRIGGER records_insert_terms AFTER INSERT ON records BEGIN
                        INSERT INTO record_terms(rowid, terms) VALUES (new.id, new.terms);
                    END;
                    CREATE TRIGGER records_delete_terms AFTER DELETE ON records BEGIN
                        INSERT INTO record_terms(record_terms, rowid, terms) VALUES ('delete', old.id, old.terms);
                    END;
                    CREATE TABLE record_tags(
                        record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,
                        tag TEXT NOT NULL,
                        PRIMARY KEY(tag, record_id)) WITHOUT ROWID;
                    CREATE INDEX record_tags_by_record ON record_tags(record_id);
                    CREATE TABLE erasures(
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        user TEXT NOT NULL, agent TEXT NOT NULL, kind INTEGER NOT NULL, record_id INTEGER NOT NULL);
                    CREATE TABLE slots(
                        user TEXT NOT NULL, agent TEXT NOT NULL, name TEXT NOT NULL,
                        sealed BLOB NOT NULL, updated_at REAL NOT NULL,
                        PRIMARY KEY(user, agent, name)) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v2") { db in
            // How many records hold each blinded term, kept by triggers, for choosing which
            // terms of a query to search. (FTS5's own vocabulary table counts them by reading
            // the term's whole posting list, milliseconds for a common term.) Terms are
            // letters and hex digits, so they split into a JSON array safely.
            func termArray(_ column: String) -> String { #"'["' || replace(\#(column), ' ', '","') || '"]'"# }
            try db.execute(
                sql: """
                    CREATE TABLE term_documents(term TEXT PRIMARY KEY, documents INTEGER NOT NULL) WITHOUT ROWID;
                    CREATE TRIGGER records_insert_term_documents AFTER INSERT ON records BEGIN
                        INSERT INTO term_documents(term, documents)
                            SELECT DISTINCT value, 1 FROM json_each(\(termArray("new.terms"))) WHERE value <> ''
                            ON CONFLICT(term) DO UPDATE SET documents = documents + 1;
                    END;
                    CREATE TRIGGER records_delete_term_documents AFTER DELETE ON records BEGIN
                        UPDATE term_documents SET documents = documents - 1
                            WHERE term IN (SELECT value FROM json_each(\(termArray("old.terms"))));
                        DELETE FROM term_documents
                            WHERE documents <= 0 AND term IN (SELECT value FROM json_each(\(termArray("old.terms"))));
                    END;
                    INSERT INTO term_documents(term, documents)
                        SELECT value, count(DISTINCT records.id) FROM records, json_each(\(termArray("records.terms")))
                        WHERE value <> '' GROUP BY value;
                    """)
        }
        migrator.registerMigration("v3") { db in
            // When a record happened (settable on insert; until now it was the insert
            // time), who it came from and how far it is trusted (codes of `MemorySource`
            // and `MemoryTrust`). Messages stored before this keep no source (their role
            // is sealed; the recall store reads it from there); earlier passages are
            // taken as the agent's, unverified, the cautious reading.
            try db.execute(
                sql: """
                    ALTER TABLE records ADD COLUMN happened_at REAL NOT NULL DEFAULT 0;
                    ALTER TABLE records ADD COLUMN source INTEGER;
                    ALTER TABLE records ADD COLUMN trust INTEGER;
                    UPDATE records SET happened_at = created_at;
                    UPDATE records SET source = \(MemorySource.agent.code), trust = \(MemoryTrust.unverified.rawValue)
                        WHERE kind = \(RecordKind.archival.rawValue);
                    CREATE INDEX records_by_happened ON records(user, agent, kind, happened_at);
                    """)
        }
        return migrator
    }
}
