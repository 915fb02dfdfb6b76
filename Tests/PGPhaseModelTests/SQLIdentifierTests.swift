import PGPhaseModel
import Testing

@Suite struct SQLIdentifierTests {
  @Test(arguments: [
    ("incidents", "incidents"),
    ("check_results2", "check_results2"),
    ("Incidents", "\"Incidents\""),
    ("order", "\"order\""),
    ("user", "\"user\""),
    ("select", "\"select\""),
    ("name", "name"),
    ("my table", "\"my table\""),
    ("say \"hi\"", "\"say \"\"hi\"\"\""),
    ("café", "\"café\""),
    ("2fa", "\"2fa\""),
    ("_private", "_private"),
  ])
  func quotesOnlyWhenNeeded(name: String, expected: String) {
    #expect(SQL.quoteIdentifier(name) == expected)
  }

  @Test func literalsDoubleQuotes() {
    #expect(SQL.quoteLiteral("it's") == "'it''s'")
  }

  @Test func qualifiedNamesParseAndRender() throws {
    let plain = try #require(QualifiedName(parsing: "incidents", defaultSchema: "public"))
    #expect(plain == QualifiedName(schema: "public", "incidents"))
    #expect(plain.sql == "public.incidents")

    let qualified = try #require(QualifiedName(parsing: "audit.Events"))
    #expect(qualified.sql == "audit.\"Events\"")

    let dotted = try #require(QualifiedName(parsing: "\"my.schema\".\"a\"\"b\""))
    #expect(dotted.schema == "my.schema")
    #expect(dotted.name == "a\"b")
    #expect(dotted.sql == "\"my.schema\".\"a\"\"b\"")
    #expect(dotted.literal == "'\"my.schema\".\"a\"\"b\"'")

    #expect(QualifiedName(parsing: "a.b.c") == nil)
    #expect(QualifiedName(parsing: "a.") == nil)
    #expect(QualifiedName(parsing: "\"unterminated") == nil)
  }

  @Test func lockModesOrderAndNames() {
    #expect(LockMode.accessExclusive > LockMode.shareUpdateExclusive)
    #expect(LockMode.accessExclusive.pgLocksName == "AccessExclusiveLock")
    #expect(LockMode.shareUpdateExclusive.pgLocksName == "ShareUpdateExclusiveLock")
    #expect(LockMode.share.blocksWrites)
    #expect(!LockMode.shareUpdateExclusive.blocksWrites)
  }
}
