import PGPhasePostgres
import Testing

@Suite struct RedactDSNTests {
  @Test func keyValuePlainPassword() {
    #expect(redactDSN("host=db user=app password=hunter2 dbname=x") == "host=db user=app password=*** dbname=x")
  }

  @Test func keyValueSpacesAroundEquals() {
    #expect(redactDSN("host=db password = hunter2 port=5432") == "host=db password = *** port=5432")
  }

  @Test func keyValueQuotedPasswordWithSpacesAndEscapes() {
    let dsn = #"host=db password='it\'s a secret' user=app"#
    let redacted = redactDSN(dsn)
    #expect(redacted == "host=db password=*** user=app")
    #expect(!redacted.contains("secret"))
  }

  @Test func keyValueUnterminatedQuoteRedactsTheRest() {
    let redacted = redactDSN("user=app password='oops no end host=db")
    #expect(redacted == "user=app password=***")
  }

  @Test func keyValueSSLPasswordAndCase() {
    let redacted = redactDSN("sslpassword=keypass PASSWORD=upper host=x")
    #expect(redacted == "sslpassword=*** PASSWORD=*** host=x")
  }

  @Test func keyValueWithoutPasswordIsUnchanged() {
    #expect(redactDSN("host=/tmp port=5432 dbname=app") == "host=/tmp port=5432 dbname=app")
    #expect(redactDSN("mydb") == "mydb")
    #expect(redactDSN("") == "")
  }

  @Test func uriUserAndPassword() {
    #expect(redactDSN("postgres://user:s3cret@db.example.com:5432/app") == "postgres://user:***@db.example.com:5432/app")
    #expect(redactDSN("postgresql://u:p@h/db?sslmode=require") == "postgresql://u:***@h/db?sslmode=require")
  }

  @Test func uriPasswordWithAtAndSlash() {
    let redacted = redactDSN("postgres://user:p@ss/w0rd@db/app")
    #expect(!redacted.contains("ss/w0rd"))
    #expect(redacted.hasPrefix("postgres://user:***@"))
  }

  @Test func uriUserWithoutPasswordIsUnchanged() {
    #expect(redactDSN("postgres://user@db/app") == "postgres://user@db/app")
    #expect(redactDSN("postgres:///app?host=/tmp") == "postgres:///app?host=/tmp")
  }

  @Test func uriPasswordQueryParameter() {
    #expect(
      redactDSN("postgres://db/app?user=u&password=s3cret&sslmode=disable")
        == "postgres://db/app?user=u&password=***&sslmode=disable")
  }

  @Test func uriSchemeIsCaseInsensitive() {
    #expect(redactDSN("POSTGRES://u:secret@h/db") == "POSTGRES://u:***@h/db")
  }
}
