import Foundation
import PGPhaseTestSupport
import Testing

/// The seeded fuzzing corpus (Tests/fuzz/intents, made by Tests/fuzz/generate.py): `pgphase
/// plan` on every file exits 0 (and writes the plan), or 2 with every error located at
/// file:line:column. Never a crash, a hang, another exit code or an error without a place.
@Suite struct FuzzCorpusTests {
  static let corpus = repositoryRoot.appendingPathComponent("Tests/fuzz/intents")

  static func files() -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
  }

  @Test func theCorpusIsThere() {
    #expect(Self.files().count >= 300)
  }

  @Test func everyFileIsPlannedOrRefusedWithALocatedError() throws {
    let dir = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    var outcomes: [Int32: Int] = [:]
    for name in Self.files() {
      let path = Self.corpus.appendingPathComponent(name).path
      let out = dir.appendingPathComponent(name).path
      let r = try runPGPhase(["plan", path, "--out", out])
      outcomes[r.status, default: 0] += 1
      switch r.status {
      case 0:
        let id = String(name.dropLast(".yaml".count))
        let planned = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        #expect(planned.count == 1, "\(name): planned \(planned), \(id)?")
      case 2:
        let lines = r.stderr.split(separator: "\n").filter { !$0.hasPrefix("  ") }
        let located = lines.filter { $0.hasPrefix("\(path):") && $0.contains(": error: ") }
        let unlocated = lines.filter {
          !$0.hasPrefix("\(path):") && !$0.hasSuffix("nothing was planned or written")
        }
        #expect(!located.isEmpty, "\(name): \(r.stderr)")
        #expect(unlocated.isEmpty, "\(name): \(unlocated)")
        for line in located {
          let rest = line.dropFirst(path.count + 1).split(separator: ":", maxSplits: 2)
          #expect(rest.count == 3 && Int(rest[0]) != nil && Int(rest[1]) != nil, "\(name): \(line)")
        }
        #expect(!FileManager.default.fileExists(atPath: out), "\(name): refused but wrote \(out)")
      default:
        Issue.record("\(name): exit \(r.status)\n\(r.stderr)")
      }
    }
    // Both outcomes occur: the corpus is neither all valid nor all garbage.
    #expect(outcomes[0, default: 0] >= 10 && outcomes[2, default: 0] >= 100, "\(outcomes)")
  }
}
