import Foundation
import PGPhaseCatalog
import PGPhaseModel
import PGPhasePostgres
import PGPhaseSchema
import PGPhaseTestSupport
import Testing

/// The acceptance of the file reader: for every fixture, the snapshot of the live database, the
/// file reader's on that database's `schema dump`, and the file reader's on `pg_dump
/// --schema-only` of it (by the pg_dump of the server's own version) are equal.
@Suite(.enabled(if: TestServer.shouldRun, "needs PostgreSQL: run through scripts/with-pg"))
struct FileReaderAgreesWithServerTests {
  @Test(arguments: ["broad", "examples"])
  func liveDumpAndPgDumpGiveOneSnapshot(_ which: String) throws {
    try withTestDatabase { db in
      let tools = try PostgresTools.matching(db.connection)
      for file in fixtureFiles(which, serverVersion: db.connection.serverVersionNumber) { try tools.load(file, into: db) }
      let live = try CatalogSchemaReader(db.connection).read().snapshot

      let dump = try schemaDump(db)
      let fromDump = SchemaFileReader.read(dump, file: "dump.sql")
      #expect(fromDump.diagnostics.isEmpty, "\(fromDump.diagnostics.map(\.description).joined(separator: "\n"))")
      let dumpAgrees = fromDump.snapshot == live
      #expect(dumpAgrees, "schema dump, read back:\n\(explain(live, fromDump.snapshot))")

      let pgDump = try tools.pgDumpSchema(db)
      let fromPgDump = SchemaFileReader.read(pgDump, file: "pg_dump.sql")
      #expect(!fromPgDump.hasErrors, "\(fromPgDump.diagnostics.map(\.description).joined(separator: "\n"))")
      let pgDumpAgrees = fromPgDump.snapshot == live
      #expect(pgDumpAgrees, "pg_dump \(tools.major), read:\n\(explain(live, fromPgDump.snapshot))")
    }
  }
}
