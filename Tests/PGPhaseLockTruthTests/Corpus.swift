import Foundation
import PGPhaseIntents
import PGPhaseModel
import PGPhasePlanner
import PGPhaseSchema
import PGPhaseTestSupport

/// Intents whose plans the lock-truth suite runs: every operation of docs/intents.md, and for
/// the operations with options every combination of the options that changes the SQL (generated,
/// not picked), on tables with rows. Each intent runs alone on a fresh copy of `schema`. The
/// example intents run too, in order, on the example schema and its seed rows.
enum Corpus {
  /// The base schema every generated intent starts from. Values are chosen so that every
  /// generated plan applies: `items.id` values are valid `parents` ids and unique, labels are
  /// unique, nothing is NULL that a check or NOT NULL will refuse.
  static let schema = """
    CREATE SEQUENCE items_seq;
    CREATE TABLE parents (id bigint PRIMARY KEY, code text NOT NULL, name text);
    CREATE TABLE items (
      id bigint PRIMARY KEY,
      parent_id bigint,
      qty integer NOT NULL DEFAULT 0,
      price integer,
      label text,
      note text,
      status text,
      legacy text,
      flag boolean NOT NULL DEFAULT false,
      amount integer NOT NULL DEFAULT 0
    );
    CREATE INDEX items_legacy_idx ON items (legacy);
    ALTER TABLE items ADD CONSTRAINT items_legacy_check CHECK (legacy <> '');
    CREATE TABLE archive (id bigint PRIMARY KEY, body text, parent_id bigint REFERENCES parents (id));
    INSERT INTO parents SELECT g, 'p' || g, 'parent ' || g FROM generate_series(1, 3000) g;
    INSERT INTO items
      SELECT g, 1 + g % 3000, g % 7, g, 'label ' || g, NULL, CASE WHEN g % 3 = 0 THEN 'up' ELSE 'down' END,
             'legacy ' || g, g % 2 = 0, g
      FROM generate_series(1, 2000) g;
    INSERT INTO archive SELECT g, 'x', g FROM generate_series(1, 300) g;
    """

  struct Entry {
    var id: String
    var changes: String
    /// Planned against `schema` (read as `plan --schema` reads a file): what only a planner that
    /// sees the schema emits, such as carrying indexes and constraints over to a new column.
    var withSchema = false
  }

  /// Every generated intent, with ids that say what varies.
  static var entries: [Entry] {
    var out: [Entry] = []
    func add(_ name: String, _ changes: String) {
      out.append(Entry(id: "20300101_\(name)", changes: changes))
    }
    // create_table: plain; identity, default and NOT NULL columns; inline unique, check and
    // references; composite key with named check, unique and foreign key; a column comment.
    add("create_table_plain", "- create_table: {table: fresh, columns: [{name: a, type: int}]}")
    add(
      "create_table_columns",
      """
      - create_table:
          table: fresh
          columns:
            - {name: id, type: bigint, identity: always, primary_key: true}
            - {name: b, type: text, nullable: false, default: "''"}
            - {name: c, type: timestamptz, default: "now()", comment: "when"}
      """)
    add(
      "create_table_inline_constraints",
      """
      - create_table:
          table: fresh
          columns:
            - {name: id, type: bigint, primary_key: true}
            - {name: code, type: text, unique: true, check: "code <> ''"}
            - {name: parent_id, type: bigint, references: {table: parents, column: id, on_delete: cascade}}
      """)
    add(
      "create_table_foreign_key_comment",
      """
      - create_table:
          table: fresh
          columns:
            - {name: parent_id, type: bigint, references: {table: parents, column: id}, comment: "owner"}
      """)
    add(
      "create_table_table_constraints",
      """
      - create_table:
          table: fresh
          columns:
            - {name: a, type: bigint, nullable: false}
            - {name: b, type: bigint, nullable: false}
          primary_key: [a, b]
          constraints:
            - {name: fresh_positive, check: "a > 0"}
            - {name: fresh_b_key, unique: [b]}
            - {name: fresh_a_fkey, columns: [a], references: {table: parents, columns: [id]}, on_delete: cascade}
            - {name: fresh_b_fkey, columns: [b], references: {table: archive, columns: [id]}}
      """)
    add(
      "create_table_named_key_comment",
      """
      - create_table:
          table: fresh
          comment: "made here"
          columns:
            - {name: a, type: bigint, nullable: false}
            - {name: b, type: bigint, nullable: false}
          primary_key: {name: fresh_pk, columns: [a, b]}
      """)
    add("drop_table", "- drop_table: {table: archive}")
    add("rename_table", "- rename_table: {from: archive, to: archive_v2}")

    // add_column: nullability x how existing rows get a value x check x unique x references x
    // comment. Combinations the planner refuses (NOT NULL with nothing for existing rows) are not
    // plans; ones the data refuses (a unique column whose every row gets the same constant) are
    // left out.
    let values: [(String, String, String)] = [
      ("none", "", ""), ("const", #", default: "0""#, ""), ("volatile", #", default: "nextval('items_seq')""#, ""),
      ("backfill", "", #"backfill: "id""#), ("const_backfill", #", default: "0""#, #"backfill: "id""#),
    ]
    var n = 0
    for nullable in [true, false] {
      for (valueName, defaultField, backfill) in values {
        if !nullable && valueName == "none" { continue }
        for check in [false, true] {
          for unique in [false, true] {
            if unique && valueName == "const" { continue }
            for references in [false, true] {
              if references && valueName == "const" { continue }  // every row 0: no such parent
              for comment in [false, true] {
                var column = "{name: c, type: bigint, nullable: \(nullable)\(defaultField)"
                if check { column += #", check: "c >= 0""# }
                if unique { column += ", unique: true" }
                if references { column += ", references: {table: parents, column: id}" }
                if comment { column += #", comment: "added""# }
                column += "}"
                n += 1
                let name = [
                  "add_column", String(format: "%03d", n), nullable ? "null" : "notnull", valueName,
                  check ? "check" : nil, unique ? "unique" : nil, references ? "fk" : nil, comment ? "comment" : nil,
                ].compactMap { $0 }.joined(separator: "_")
                add(
                  name,
                  "- add_column:\n    table: items\n    column: \(column)" + (backfill.isEmpty ? "" : "\n    \(backfill)"))
              }
            }
          }
        }
      }
    }
    add("drop_column", "- drop_column: {table: items, column: legacy}")
    add("drop_column_foreign_key", "- drop_column: {table: archive, column: parent_id}")
    add("drop_constraint_foreign_key", "- drop_constraint: {table: archive, name: archive_parent_id_fkey}")
    add("rename_column_nullable", "- rename_column: {table: items, from: note, to: remark, type: text}")
    add(
      "rename_column_not_null_default",
      "- rename_column: {table: items, from: qty, to: quantity, type: integer, nullable: false, default: \"0\"}")
    add(
      "alter_column_new_name",
      #"- alter_column: {table: items, column: status, new_name: state, type: text, up: "upper(status)", down: "lower(state)"}"#)
    add(
      "alter_column_type_swap",
      #"- alter_column: {table: items, column: price, type: bigint, up: "price::bigint", down: "price::integer"}"#)
    add(
      "alter_column_type_not_null_default",
      #"- alter_column: {table: items, column: amount, type: bigint, up: "amount::bigint", down: "amount::integer", nullable: false, default: "0"}"#
    )
    add("set_not_null_backfill", #"- set_not_null: {table: items, column: note, backfill: "''"}"#)
    add("set_not_null_plain", "- set_not_null: {table: items, column: label}")
    add("drop_not_null", "- drop_not_null: {table: items, column: flag}")
    add("set_default", #"- set_default: {table: items, column: note, default: "'n/a'"}"#)
    add("drop_default", "- drop_default: {table: items, column: qty}")
    add("add_check", #"- add_check: {table: items, name: items_price_check, expression: "price >= 0"}"#)
    add(
      "add_foreign_key",
      "- add_foreign_key: {table: items, name: items_parent_fkey, columns: [parent_id], references: {table: parents, columns: [id]}, on_delete: set_null}"
    )
    add("add_unique", "- add_unique: {table: items, name: items_label_key, columns: [label]}")
    add("drop_constraint", "- drop_constraint: {table: items, name: items_legacy_check}")
    add("rename_constraint_check", "- rename_constraint: {table: items, from: items_legacy_check, to: items_legacy_nonempty}")
    add("rename_constraint_key", "- rename_constraint: {table: parents, from: parents_pkey, to: parents_pk}")
    add("comment_table", #"- comment_table: {table: items, comment: "things"}"#)
    add("comment_table_remove", "- comment_table: {table: items, comment: null}")
    add("comment_column", #"- comment_column: {table: items, column: label, comment: "shown"}"#)
    add("comment_column_remove", "- comment_column: {table: items, column: label, comment: null}")
    for identity in ["full", "nothing", "default"] {
      add("set_replica_identity_\(identity)", "- set_replica_identity: {table: items, identity: \(identity)}")
    }
    add("set_replica_identity_index", "- set_replica_identity: {table: parents, identity: index, index: parents_pkey}")
    // alter_column in place: each field as its own operation plans it.
    add(
      "alter_column_in_place",
      #"- alter_column: {table: items, column: note, nullable: true, default: "'n'", comment: "c", check: "note <> ''", unique: true}"#
    )
    add("alter_column_in_place_not_null", "- alter_column: {table: items, column: label, nullable: false}")
    // alter_column giving the new column a unique, a check and a comment.
    add(
      "alter_column_type_unique_check_comment",
      #"- alter_column: {table: items, column: label, type: "varchar(100)", down: "label::text", unique: true, check: "length(label) > 0", comment: "c"}"#
    )
    // create_index: unique x key kind x more than one key x partial x include, and a method
    // other than btree.
    n = 0
    for unique in [false, true] {
      for keys in ["[label]", "[\"lower(label)\"]", "[label, id]", "[\"lower(label)\", id]"] {
        for partial in [false, true] {
          for include in [false, true] {
            n += 1
            var index = "{table: items, name: items_c\(n)_idx, columns: \(keys)"
            if unique { index += ", unique: true" }
            if partial { index += #", where: "price > 0""# }
            if include { index += ", include: [status]" }
            index += "}"
            add("create_index_\(String(format: "%02d", n))", "- create_index: \(index)")
          }
        }
      }
    }
    add("create_index_hash", "- create_index: {table: items, name: items_label_hash_idx, columns: [label], using: hash}")
    add(
      "create_index_key_options_with",
      #"- create_index: {table: items, name: items_opts_idx, columns: [{column: label, opclass: text_pattern_ops, order: desc, nulls: last}, {expression: "lower(label)", collate: "C"}], with: {fillfactor: 70}}"#
    )
    add("drop_index", "- drop_index: {name: items_legacy_idx}")
    add("backfill_where", #"- backfill: {table: items, set: {note: "label || '!'"}, where: "id % 2 = 0"}"#)
    add("backfill_all", #"- backfill: {table: items, set: {note: "label", status: "'x'"}}"#)
    add(
      "sql_transactional",
      "- sql: {phase: expand, up: \"CREATE FUNCTION item_count() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM items $$\", down: \"DROP FUNCTION item_count()\"}"
    )
    add("sql_comment", "- sql: {phase: contract, up: \"COMMENT ON TABLE items IS 'measured'\"}")
    add(
      "sql_not_transactional",
      "- sql: {phase: expand, up: \"CREATE INDEX CONCURRENTLY items_note_idx ON items (note)\", transactional: false}")
    add("sql_vacuum", "- sql: {phase: backfill, up: \"VACUUM (ANALYZE) items\", transactional: false}")
    // `sql` steps the planner does not analyse, which lock, scan or rewrite: the linter must say so.
    add("sql_type_change", "- sql: {phase: expand, up: \"ALTER TABLE items ALTER COLUMN price TYPE bigint\"}")
    add("sql_set_not_null", "- sql: {phase: expand, up: \"ALTER TABLE items ALTER COLUMN label SET NOT NULL\"}")
    add(
      "sql_volatile_default",
      "- sql: {phase: expand, up: \"ALTER TABLE items ADD COLUMN seen timestamptz DEFAULT clock_timestamp()\"}")
    add("sql_blocking_index", "- sql: {phase: expand, up: \"CREATE INDEX items_note_idx ON items (note)\"}")
    // Carried over to the new column (planned against the schema): an index and a CHECK; a
    // primary key with another table's foreign key to it; a foreign key to another table.
    func addWithSchema(_ name: String, _ changes: String) {
      out.append(Entry(id: "20300101_\(name)", changes: changes, withSchema: true))
    }
    addWithSchema(
      "alter_column_carries_index_and_check", #"- alter_column: {table: items, column: legacy, type: "character varying(200)"}"#)
    addWithSchema("rename_column_carries_key_and_incoming_fk", "- rename_column: {table: parents, from: id, to: pid}")
    addWithSchema("alter_column_carries_outgoing_fk", "- alter_column: {table: archive, column: parent_id, type: integer}")
    add(
      "sql_validating_foreign_key",
      "- sql: {phase: expand, up: \"ALTER TABLE items ADD CONSTRAINT items_parent_fkey FOREIGN KEY (parent_id) REFERENCES parents (id)\"}"
    )
    return out
  }

  /// Plans every entry on its own.
  static func plans() throws -> [Plan] {
    let reading = SchemaFileReader.read(schema, file: "corpus/schema.sql")
    guard !reading.hasErrors else {
      throw CorpusError(description: "the corpus schema does not read: \(reading.diagnostics.map(\.description))")
    }
    return try entries.map { entry in
      let source = IntentSource(path: "corpus/\(entry.id).yaml", text: "schema: public\nchanges:\n\(entry.changes)\n")
      let (intents, d1) = IntentLoader.load([source])
      let (plans, d2) = Planner.plan(intents, schema: entry.withSchema ? reading.snapshot : nil)
      guard (d1 + d2).isEmpty, let plan = plans.first else {
        throw CorpusError(description: "\(entry.id) does not plan: \((d1 + d2).map(\.description).joined(separator: "; "))")
      }
      return plan
    }
  }

  /// The example intents, planned as `pgphase plan examples/intents` would.
  static func examplePlans() throws -> [Plan] {
    let folder = repositoryRoot.appendingPathComponent("examples/intents")
    let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }.sorted()
    let sources = try files.map {
      IntentSource(
        path: "examples/intents/\($0)", text: try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8))
    }
    let (intents, d1) = IntentLoader.load(sources)
    let (plans, d2) = Planner.plan(intents)
    guard (d1 + d2).isEmpty else { throw CorpusError(description: (d1 + d2).map(\.description).joined(separator: "; ")) }
    return plans
  }

  struct CorpusError: Error, CustomStringConvertible {
    var description: String
  }
}
