import Foundation
import PGPhaseExecutor
import PGPhaseModel
import PGPhasePostgres
import PGPhaseTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 (an ephemeral port) that answers every request with
/// `status` and keeps the bodies it received. One thread accepts connections until `stop()`.
final class LoopbackWebhook: @unchecked Sendable {
  // Safety: `bodies` and `paths` are only touched while holding `lock`.
  private let lock = NSLock()
  private var bodies: [Data] = []
  private var paths: [String] = []
  private let socketFD: Int32
  let port: UInt16
  let status: Int

  init(status: Int = 200) throws {
    self.status = status
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard fd >= 0, bound == 0, listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    socketFD = fd
    port = UInt16(bigEndian: address.sin_port)
    let thread = Thread { [self] in acceptLoop() }
    thread.start()
  }

  var url: String { "http://127.0.0.1:\(port)/services/T000/B000/secret" }

  func received() -> [Data] { lock.withLock { bodies } }
  func receivedPaths() -> [String] { lock.withLock { paths } }

  func stop() {
    shutdown(socketFD, Int32(SHUT_RDWR))
    close(socketFD)
  }

  private func acceptLoop() {
    while true {
      let client = accept(socketFD, nil, nil)
      if client < 0 { return }
      handle(client)
      close(client)
    }
  }

  private func handle(_ client: Int32) {
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 4096)
    var headerEnd: Range<Data.Index>?
    var contentLength = 0
    while true {
      let n = read(client, &buffer, buffer.count)
      if n <= 0 { break }
      data.append(contentsOf: buffer[0..<n])
      if headerEnd == nil, let end = data.range(of: Data("\r\n\r\n".utf8)) {
        headerEnd = end
        let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
          contentLength = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
        }
      }
      if let end = headerEnd, data.count - end.upperBound >= contentLength { break }
    }
    guard let end = headerEnd else { return }
    let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
    let requestLine = head.split(separator: "\r\n").first.map(String.init) ?? ""
    lock.withLock {
      bodies.append(data[end.upperBound...])
      paths.append(requestLine)
    }
    let reply = "HTTP/1.1 \(status) X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    _ = reply.utf8CString.withUnsafeBufferPointer { write(client, $0.baseAddress, $0.count - 1) }
  }
}

/// Before/after-phase hooks and webhook notifications around phases, through the real binary.
@Suite(.serialized) struct HooksTests {
  static let intent = "20261120_incident_severity"

  func columnExists(_ db: TestDatabase) throws -> Bool {
    try db.connection.execute(
      "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'incidents'::regclass AND attname = 'severity')"
    ).scalarBool() ?? false
  }

  /// `KEY=VALUE` lines of a file the hook wrote, as a dictionary.
  func environment(in file: URL) throws -> [String: String] {
    let text = try String(contentsOf: file, encoding: .utf8)
    var out: [String: String] = [:]
    for line in text.split(separator: "\n") {
      let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
      if parts.count == 2 { out[parts[0]] = parts[1] }
    }
    return out
  }

  @Test(.enabled(if: TestServer.shouldRun)) func hooksSeePhaseIntentsAndDatabase() throws {
    try withTestDatabase { db in
      try loadExampleSchema(db)
      let plans = try releasePlans([Self.intent])
      let out = try makeTemporaryDirectory()
      let before = "env | grep '^PGPHASE_' | sort > \(out.path)/before-$PGPHASE_PHASE.env"
      // The after hook also proves the phase is done by the time it runs.
      let after =
        "env | grep '^PGPHASE_' | sort > \(out.path)/after-$PGPHASE_PHASE.env; psql -XAtc \"SELECT count(*) FROM pgphase.steps WHERE state = 'done' AND phase = '$PGPHASE_PHASE'\" \"dbname=$PGPHASE_DATABASE\" > \(out.path)/after-$PGPHASE_PHASE.done"
      let run = try runPGPhase([
        "advance", "--to", "backfill", "--before-phase", before, "--after-phase", after, "--dsn", db.conninfo, plans.path,
      ])
      #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
      for phase in ["expand", "backfill"] {
        let b = try environment(in: out.appendingPathComponent("before-\(phase).env"))
        #expect(b["PGPHASE_EVENT"] == "before" && b["PGPHASE_PHASE"] == phase && b["PGPHASE_INTENTS"] == Self.intent)
        #expect(b["PGPHASE_DATABASE"] == db.name && b["PGPHASE_RUNNER"]?.hasPrefix("pgphase advance ") == true)
        #expect(b["PGPHASE_STATUS"] == nil)
        let a = try environment(in: out.appendingPathComponent("after-\(phase).env"))
        #expect(a["PGPHASE_EVENT"] == "after" && a["PGPHASE_STATUS"] == "finished" && a["PGPHASE_ERROR"] == nil)
        #expect(Double(a["PGPHASE_DURATION_SECONDS"] ?? "") != nil)
      }
      let doneAfterExpand = try String(contentsOf: out.appendingPathComponent("after-expand.done"), encoding: .utf8)
      #expect(doneAfterExpand.trimmingCharacters(in: .whitespacesAndNewlines) == "4")
      #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("before-contract.env").path))
    }
  }

  @Test(.enabled(if: TestServer.shouldRun)) func failingBeforeHookLeavesTheDatabaseUntouched() throws {
    try withTestDatabase { db in
      try loadExampleSchema(db)
      let plans = try releasePlans([Self.intent])
      let out = try makeTemporaryDirectory()
      let webhook = try LoopbackWebhook()
      defer { webhook.stop() }
      let run = try runPGPhase([
        "apply", "--phase", "expand", "--before-phase", "echo taking a snapshot >&2; exit 7", "--after-phase",
        "touch \(out.path)/after-ran", "--notify", webhook.url, "--dsn", db.conninfo, plans.path,
      ])
      #expect(run.status == 1)
      #expect(run.stderr.contains("taking a snapshot"))
      #expect(
        run.stderr.contains(
          "error: the --before-phase hook failed (exit 7) before expand; nothing was changed: echo taking a snapshot >&2; exit 7"
        ),
        "\(run.stderr)")
      #expect(try !columnExists(db))
      #expect(try db.connection.execute("SELECT count(*) FROM pgphase.steps").scalarInt() == 0)
      #expect(try db.connection.execute("SELECT count(*) FROM pgphase.intents").scalarInt() == 0)
      #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("after-ran").path))
      let events = try webhook.received().map { try JSONDecoder().decode(PhaseEvent.self, from: $0) }
      #expect(events.map(\.event) == [.failed])
      #expect(events.first?.error?.contains("--before-phase hook failed (exit 7)") == true)

      // The same command with a passing hook applies the phase.
      let again = try runPGPhase(["apply", "--phase", "expand", "--before-phase", "true", "--dsn", db.conninfo, plans.path])
      #expect(again.status == 0, "\(again.stderr)")
      #expect(try columnExists(db))
    }
  }

  @Test(.enabled(if: TestServer.shouldRun)) func webhookGetsSlackShapedEventsForStartFinishAndFailure() throws {
    try withTestDatabase { db in
      try loadExampleSchema(db)
      let plans = try releasePlans([Self.intent])
      let webhook = try LoopbackWebhook()
      defer { webhook.stop() }
      let run = try runPGPhase(["advance", "--to", "backfill", "--notify", webhook.url, "--dsn", db.conninfo, plans.path])
      #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
      let bodies = webhook.received()
      #expect(
        webhook.receivedPaths().allSatisfy { $0 == "POST /services/T000/B000/secret HTTP/1.1" }, "\(webhook.receivedPaths())")
      let events = try bodies.map { try JSONDecoder().decode(PhaseEvent.self, from: $0) }
      #expect(
        events.map { "\($0.phase.rawValue) \($0.event.rawValue)" } == [
          "expand phase_started", "expand phase_finished", "backfill phase_started", "backfill phase_finished",
        ])
      for event in events {
        #expect(event.intents == [Self.intent] && event.database == db.name && event.error == nil)
        #expect(event.runner.hasPrefix("pgphase advance "))
        #expect((event.durationSeconds != nil) == (event.event == .finished))
      }
      // Slack needs a top-level "text" string.
      let first = try #require(JSONSerialization.jsonObject(with: bodies[0]) as? [String: Any])
      #expect(first["text"] as? String == "pgphase: expand started for \(Self.intent) on \(db.name)")

      // A failing step: the phase_failed event carries the error, SQLSTATE included. (Without a
      // primary key on incidents, the new table's foreign key has nothing to reference; --force
      // runs the plan past the drift guard, which sees the key gone.)
      try withTestDatabase { other in
        try loadExampleSchema(other)
        try other.connection.execute("ALTER TABLE incidents DROP CONSTRAINT incidents_pkey CASCADE")
        let failing = try runPGPhase([
          "apply", "--phase", "expand", "--force", "--notify", webhook.url, "--dsn", other.conninfo, plans.path,
        ])
        #expect(failing.status == 1)
        // The failure is printed as every command prints a problem: placed at its intent and step.
        #expect(
          failing.stderr.contains(
            "\(Self.intent) expand/03-create-table-incident-updates: error: failed: there is no unique constraint matching given keys for referenced table \"incidents\" (SQLSTATE 42830)\n  statement: CREATE TABLE public.incident_updates ("
          ), "\(failing.stderr)")
        let last = try JSONDecoder().decode(PhaseEvent.self, from: try #require(webhook.received().last))
        #expect(last.event == .failed && last.phase == .expand && last.durationSeconds != nil)
        #expect(last.error?.contains("42830") == true, "\(last.error ?? "nil")")
        #expect(last.text.hasPrefix("pgphase: expand FAILED for \(Self.intent) on \(other.name) in "))

        // A webhook that refuses does not fail the phase; the warning does not show the URL's secret path.
        let refusing = try LoopbackWebhook(status: 500)
        defer { refusing.stop() }
        try other.connection.execute("ALTER TABLE incidents ADD PRIMARY KEY (id)")
        let rerun = try runPGPhase(["apply", "--phase", "expand", "--notify", refusing.url, "--dsn", other.conninfo, plans.path])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(refusing.received().count == 2)
        #expect(
          rerun.stderr.contains("warning: --notify http://127.0.0.1:\(refusing.port)/…: the webhook answered HTTP 500"),
          "\(rerun.stderr)")
        #expect(!rerun.stderr.contains("secret"))
      }
    }
  }
}
