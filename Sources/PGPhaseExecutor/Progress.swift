import Foundation

/// How long-running work (index builds, backfills) shows progress.
public enum ProgressStyle: Sendable {
  /// A bar redrawn in place with `\r`: for a person at a terminal.
  case bar
  /// A plain line at most every `interval` seconds: readable in CI and Kubernetes logs.
  case lines
}

/// Throttled progress output for one piece of long work.
///
/// Callers report as often as they like; the reporter decides what to print: with `.bar` at most
/// ten redraws a second, with `.lines` one line per interval. `finish` ends a bar with a newline.
package final class ProgressReporter {
  package let label: String
  package let style: ProgressStyle
  package let interval: Double
  private let write: (String) -> Void
  private let start = Date()
  private var lastPrint: Date?
  private var drewBar = false

  /// - Parameter write: where text goes (stderr); with `.bar` it receives partial lines starting
  ///   with `\r` and no newline.
  package init(label: String, style: ProgressStyle, interval: Double, write: @escaping (String) -> Void) {
    self.label = label
    self.style = style
    self.interval = interval
    self.write = write
  }

  /// Seconds since the reporter was made.
  package var elapsed: Double { Date().timeIntervalSince(start) }

  /// Reports `done` of `total` units (nil total: unknown) and a free-form detail (rate, phase, who
  /// blocks). Prints only when the throttle allows, or always when `force`.
  package func update(done: Int64, total: Int64?, unit: String, detail: String = "", force: Bool = false) {
    let now = Date()
    let minimum = style == .bar ? 0.1 : interval
    if !force, let lastPrint, now.timeIntervalSince(lastPrint) < minimum { return }
    if !force, lastPrint == nil, style == .lines, now.timeIntervalSince(start) < interval { return }
    lastPrint = now
    let fraction = total.flatMap { $0 > 0 ? min(1, Double(done) / Double($0)) : nil }
    let counts = total.map { "\(done)/\($0) \(unit)" } ?? "\(done) \(unit)"
    let percent = fraction.map { String(format: " %3.0f%%", $0 * 100) } ?? ""
    let tail = detail.isEmpty ? "" : " \(detail)"
    switch style {
    case .bar:
      let width = 24
      let filled = Int((fraction ?? 0) * Double(width))
      let bar =
        fraction == nil ? "" : "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
      write("\r\u{1B}[2K\(label) \(bar)\(percent) \(counts)\(tail)")
      drewBar = true
    case .lines:
      write("\(label):\(percent) \(counts)\(tail)\n")
    }
  }

  /// Ends the bar's line, if one was drawn, and prints `summary` when given.
  package func finish(_ summary: String? = nil) {
    if drewBar { write("\n") }
    drewBar = false
    if let summary { write("\(label): \(summary)\n") }
  }
}
