import Foundation
import PGPhasePostgres
import Testing

/// DSNs are read by libpq (`PQconninfoParse`): whatever form a password takes, redaction hides it,
/// and a string libpq cannot read is hidden whole.
@Suite struct RedactDSNTests {
  @Test func keyValuePasswordIsHiddenAndTheRestKept() {
    #expect(redactDSN("host=db user=app password=hunter2 dbname=x") == "user=app password=*** dbname=x host=db")
    #expect(redactDSN("host=db password = hunter2 port=5432") == "password=*** host=db port=5432")
  }

  @Test func keyValueQuotedPasswordWithSpacesAndEscapes() {
    let redacted = redactDSN(#"host=db password='it\'s a secret' user=app"#)
    #expect(redacted == "user=app password=*** host=db")
  }

  @Test func everyPasswordLikeFieldIsHidden() {
    let redacted = redactDSN("sslpassword=keypass password=pw host=x")
    #expect(redacted == "password=*** host=x sslpassword=***")
  }

  @Test func whatLibpqCannotReadIsHiddenWhole() {
    #expect(redactDSN("user=app password='oops no end host=db") == "***")
    #expect(redactDSN("PASSWORD=upper host=x") == "***")  // keywords are lower case: not a DSN libpq accepts
    #expect(redactDSN("host=db hunter2") == "***")
    #expect(redactDSN("postgres://u:p@[::1/db") == "***")
  }

  @Test func withoutASecretTheStringIsUnchanged() {
    #expect(redactDSN("host=/tmp port=5432 dbname=app") == "host=/tmp port=5432 dbname=app")
    #expect(redactDSN("postgres://user@db/app") == "postgres://user@db/app")
    #expect(redactDSN("postgres:///app?host=/tmp") == "postgres:///app?host=/tmp")
    #expect(redactDSN("mydb") == "mydb")  // a bare database name, as --dsn passes it to libpq
    #expect(redactDSN("") == "")
  }

  @Test func uriPasswordsAreHidden() {
    #expect(
      redactDSN("postgres://user:s3cret@db.example.com:5432/app")
        == "user=user password=*** dbname=app host=db.example.com port=5432")
    #expect(redactDSN("postgresql://u:p@h/db?sslmode=require") == "user=u password=*** dbname=db host=h sslmode=require")
    #expect(
      redactDSN("postgres://db/app?user=u&password=s3cret&sslmode=disable")
        == "user=u password=*** dbname=app host=db sslmode=disable")
    #expect(redactDSN("POSTGRES://u:secret@h/db") == "***")  // libpq's scheme is lower case: it cannot read this
  }

  /// libpq's message about a string it cannot read quotes pieces of it: those are hidden.
  @Test func parseErrorsHideTheFragmentsTheyQuote() throws {
    let message = try #require(DSN.parseError("host=db hunter2"))
    #expect(!message.contains("hunter2"), "\(message)")
    #expect(message.contains("\"***\""), "\(message)")
    #expect(DSN.parseError("host=db password=x") == nil)
    #expect(DSN.parseError("mydb") == nil)
  }

  /// Generated passwords with every character that needs quoting or encoding, in key/value and
  /// URI form: parsed by libpq to the same password, never in the redacted text, and the
  /// redacted text is itself a DSN libpq reads (with the password `***`).
  @Test func generatedPasswordsNeverSurvive() throws {
    let alphabet = Array(#"abcXYZ019 '\"@/:?&=%#;,{}[]+-_.~!$^*()|<>`é€"#)
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<300 {
      let length = Int.random(in: 4...16, using: &generator)
      var password = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
      if password.trimmingCharacters(in: .whitespaces).count < 4 { password = "x" + password + "y" }
      let quoted = "'" + password.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
      let encoded = try #require(password.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
      for dsn in [
        "host=db user=app password=\(quoted) dbname=app", "postgresql://app:\(encoded)@db:5432/app",
        "postgresql://db/app?user=app&password=\(encoded)",
      ] {
        let options = try #require(DSN.parse(dsn), "\(dsn)")
        #expect(options.first { $0.keyword == "password" }?.value == password, "\(dsn)")
        let redacted = redactDSN(dsn)
        #expect(!redacted.contains(password) && !redacted.contains(encoded), "\(dsn) → \(redacted)")
        #expect(DSN.parse(redacted)?.first { $0.keyword == "password" }?.value == "***", "\(redacted)")
      }
    }
  }
}
