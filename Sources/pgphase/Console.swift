import Dispatch
import Foundation
import PGPhaseModel

#if canImport(Glibc)
  import Glibc
#endif

/// The process's standard output and standard error, written so that a terminal or a log that
/// receives both shows whole lines, in the order they were written.
///
/// Swift's `print` buffers stdout in blocks when it is not a terminal, while stderr is unbuffered:
/// piped into one log, stderr's lines overtook stdout's and a block boundary could cut a stdout line
/// in two. Every write here is one `write(2)` of complete lines under one lock. A progress bar
/// (text starting with `\r` and no newline) is erased before any other line is written and drawn
/// again after it, so a bar never shares a line with other output.
final class Console: @unchecked Sendable {
  // Safety: `bar` is only read and written while holding `lock`, which every write holds.
  static let shared = Console()

  private let lock = NSLock()
  /// The progress bar currently drawn on stderr (without its leading `\r` and erase), if any.
  private var bar: String?
  /// Whether stdout and stderr are one terminal, so stdout lines must also step around the bar.
  private let sharedTerminal = isatty(1) == 1 && isatty(2) == 1
  /// The columns of the terminal on stderr (nil: not a terminal, or it does not say), read at
  /// start and again on every SIGWINCH.
  private var columns: Int?
  private var resize: (any DispatchSourceSignal)?

  private init() {
    columns = Self.terminalColumns(fd: 2)
    guard isatty(2) == 1 else { return }
    // SIGWINCH is ignored by default; the dispatch source sees it and re-reads the size.
    signal(SIGWINCH, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
    source.setEventHandler { [weak self] in
      guard let self else { return }
      let now = Self.terminalColumns(fd: 2)
      self.lock.withLock { self.columns = now }
    }
    source.resume()
    resize = source
  }

  /// The terminal's width on stderr now, for progress bars.
  var errorColumns: Int? { lock.withLock { columns } }

  /// `TIOCGWINSZ` of `fd`: its columns, nil when it is no terminal or reports 0.
  static func terminalColumns(fd: Int32) -> Int? {
    var size = winsize()
    guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
    return Int(size.ws_col)
  }

  /// Writes `text` and `terminator` to stdout.
  func out(_ text: String, terminator: String = "\n") {
    // Without a terminator the text goes out as it is: a lint report is megabytes, each copy
    // into fresh pages.
    lock.withLock { writeAroundBar(fd: 1, terminator.isEmpty ? text : text + terminator, barShares: sharedTerminal) }
  }

  /// Writes `text` and a newline to stderr.
  func err(_ text: String) {
    lock.withLock { writeAroundBar(fd: 2, text + "\n", barShares: true) }
  }

  /// Progress text from the executor's reporters: `\r`-led bar redraws without a newline, a lone
  /// `\n` that ends a bar, or whole lines.
  func progress(_ text: String) {
    lock.withLock {
      if text.hasPrefix("\r") {
        var drawn = Substring(text.dropFirst())
        if drawn.hasPrefix(Self.eraseLine) { drawn = drawn.dropFirst(Self.eraseLine.count) }
        // The reporter fits the bar already; this holds whatever it was given to the screen too.
        if let columns, drawn.count > columns - 1 { drawn = drawn.prefix(max(1, columns - 1)) }
        bar = String(drawn)
        Self.writeAll(2, "\r" + Self.eraseLine + drawn)
      } else if text == "\n" {
        if bar != nil { Self.writeAll(2, "\n") }
        bar = nil
      } else {
        writeAroundBar(fd: 2, text.hasSuffix("\n") ? text : text + "\n", barShares: true)
      }
    }
  }

  private static let eraseLine = "\u{1B}[2K"

  /// Erases the bar, writes `text`, then draws the bar again below it. Call holding `lock`.
  private func writeAroundBar(fd: Int32, _ text: String, barShares: Bool) {
    guard let bar, barShares else {
      Self.writeAll(fd, text)
      return
    }
    Self.writeAll(2, "\r" + Self.eraseLine)
    Self.writeAll(fd, text)
    Self.writeAll(2, bar)
  }

  /// One `write(2)` of the whole text where the kernel allows, looping over short writes.
  private static func writeAll(_ fd: Int32, _ text: String) {
    var text = text
    text.withUTF8 { bytes in
      var offset = 0
      while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          return
        }
        offset += n
      }
    }
  }
}

/// Writes to standard output (results), in order with everything `printError` writes.
func printOut(_ text: String, terminator: String = "\n") {
  Console.shared.out(text, terminator: terminator)
}

/// Writes to standard error, where diagnostics and progress go.
func printError(_ text: String) {
  Console.shared.err(text)
}

/// Shows a problem on standard error the one way every command does (`Diagnostic.description`:
/// `file:line:col: error: ...`, `<intent> <step>: error: ...`, `<object>: error: ...`).
func report(_ diagnostic: Diagnostic) {
  Console.shared.err(diagnostic.description)
}

/// A problem with a file or folder as a whole (no line to point at).
func fileProblem(_ path: String, _ message: String, _ severity: Diagnostic.Severity = .error) -> Diagnostic {
  Diagnostic(severity, message, at: nil, object: path)
}
