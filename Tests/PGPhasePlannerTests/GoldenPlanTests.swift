import Foundation
import PGPhaseModel
import PGPhasePlanner
import Testing

/// `plans/` is the golden set: the committed plans must be exactly what the example intents
/// compile to. `PGPHASE_RECORD=1` rewrites them, and such a run fails, so CI can never pass by
/// recording.
@Suite struct GoldenPlanTests {
  @Test func committedPlansMatchTheExampleIntents() throws {
    let record = ProcessInfo.processInfo.environment["PGPHASE_RECORD"] == "1"
    let plansDir = repositoryRoot.appendingPathComponent("plans")
    var stale: [String] = []
    for plan in try examplePlans() {
      for (name, content) in try PlanRenderer.files(for: plan).sorted(by: { $0.key < $1.key }) {
        let url = plansDir.appendingPathComponent("\(plan.intent)/\(name)")
        let onDisk = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        if onDisk != content {
          stale.append(
            "plans/\(plan.intent)/\(name)\n"
              + LineDiff.unified(old: onDisk, new: content, oldName: "committed", newName: "planned"))
          if record {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: url, atomically: true, encoding: .utf8)
          }
        }
      }
    }
    #expect(stale.isEmpty, "stale golden plans (run `pgphase plan examples/intents`):\n\(stale.joined(separator: "\n"))")
    #expect(!record, "PGPHASE_RECORD=1 rewrote the golden plans; rerun without it")
  }
}
