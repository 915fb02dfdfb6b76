import Foundation
import PGPhaseModel
import PGPhaseTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Runs `pgphase` with stderr on a pseudo-terminal of `columns` columns and collects what it draws
/// there; `during` runs (with the child's pid and the terminal's master side) while it works.
final class PseudoTerminalRun: @unchecked Sendable {
  // Safety: `data` is appended by the reader thread under `lock` and read under it.
  private let lock = NSLock()
  private var data = Data()
  private let master: Int32
  private let readerDone = DispatchSemaphore(value: 0)
  let process = Process()

  init(_ arguments: [String], columns: UInt16) throws {
    var master: Int32 = -1
    var slave: Int32 = -1
    var size = winsize(ws_row: 24, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
    guard openpty(&master, &slave, nil, nil, &size) == 0 else { throw PgBouncer.SetupError(what: "openpty failed") }
    self.master = master
    process.executableURL = URL(fileURLWithPath: try pgphaseBinary())
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
    try process.run()
    close(slave)  // the child has its copy: reads end (EIO) when it exits
    let fd = master
    let thread = Thread { [self] in
      var buffer = [UInt8](repeating: 0, count: 4096)
      while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        lock.withLock { data.append(contentsOf: buffer[0..<n]) }
      }
      readerDone.signal()
    }
    thread.start()
  }

  var output: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
  var byteCount: Int { lock.withLock { data.count } }

  /// Resizes the terminal and tells the child, as a terminal emulator does.
  func resize(columns: UInt16) {
    var size = winsize(ws_row: 24, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
    _ = ioctl(master, UInt(TIOCSWINSZ), &size)
    kill(process.processIdentifier, SIGWINCH)
  }

  func wait() -> Int32 {
    process.waitUntilExit()
    _ = readerDone.wait(timeout: .now() + 10)
    close(master)
    return process.terminationStatus
  }

  /// What a terminal shows as separate lines: the text between carriage returns and newlines,
  /// without the erase-line sequence.
  static func screenLines(_ text: String) -> [String] {
    // `isNewline`: a terminal turns "\n" into "\r\n", one Character in Swift.
    text.replacingOccurrences(of: "\u{1B}[2K", with: "").split(omittingEmptySubsequences: true) { $0.isNewline }
      .map(String.init)
  }
}

/// The progress bar is one line redrawn in place only if it fits: wider than the terminal it
/// wraps, and every redraw scrolls.
@Suite struct TerminalWidthTests {
  @Test(.enabled(if: TestServer.shouldRun))
  func theBarNeverExceedsTheTerminalAndFollowsAResize() throws {
    try withTestDatabase { db in
      try db.connection.executeScript(
        """
        CREATE TABLE incident_response_timeline_entries (id int PRIMARY KEY, minutes_to_acknowledge int NOT NULL);
        INSERT INTO incident_response_timeline_entries SELECT g, g % 1000 FROM generate_series(1, 30000) g;
        ANALYZE incident_response_timeline_entries;
        """)
      // A long intent id and step id: the full bar line is far wider than 80 columns.
      let lp = try planIntent(
        "20260101_widen_incident_response_timeline_minutes_to_acknowledge",
        """
        schema: public
        settings:
          backfill_batch_size: 200
        changes:
          - alter_column:
              table: incident_response_timeline_entries
              column: minutes_to_acknowledge
              type: bigint
              up: "minutes_to_acknowledge::bigint"
              down: "minutes_to_acknowledge::integer"
              nullable: false
        """)
      let dir = try writePlans([lp])
      defer { try? FileManager.default.removeItem(at: dir) }
      let expand = try runPGPhase(["apply", "--phase", "expand", "--dsn", db.conninfo, dir.path])
      #expect(expand.status == 0, "\(expand.stderr)")

      let run = try PseudoTerminalRun(
        ["apply", "--phase", "backfill", "--max-batch-rows", "300", "--batch-pause", "25ms", "--dsn", db.conninfo, dir.path],
        columns: 80)
      let deadline = Date().addingTimeInterval(60)
      while PseudoTerminalRun.screenLines(run.output).filter({ $0.contains("%") }).count < 4, run.process.isRunning,
        Date() < deadline
      {
        Thread.sleep(forTimeInterval: 0.02)
      }
      let before = run.output
      run.resize(columns: 50)
      let status = run.wait()
      #expect(status == 0, "\(run.output)")

      let at80 = PseudoTerminalRun.screenLines(before)
      let bars80 = at80.filter { $0.contains("%") }
      #expect(bars80.count >= 4, "the bar was drawn: \(at80)")
      for line in at80 { #expect(line.count < 80, "\(line.count) columns at 80: \(line)") }
      #expect(bars80.allSatisfy { $0.contains("20260101_widen") }, "the label is kept, cut in the middle: \(bars80)")

      // After the resize (one redraw may already have been on its way) every line fits 50.
      let after = PseudoTerminalRun.screenLines(String(run.output.dropFirst(before.count)))
      let bars50 = after.filter { $0.contains("%") }
      #expect(bars50.count >= 3, "the bar went on after the resize: \(after)")
      // Lines the run logs (a step's result) may wrap like any output; the bar is redrawn in place.
      for line in bars50.dropFirst() { #expect(line.count < 50, "\(line.count) columns at 50: \(line)") }
      #expect(
        after.contains { $0.contains("20260101_widen") && $0.contains("rows updated") && !$0.contains("%") },
        "the step's line starts on a line of its own: \(after)")
    }
  }
}
