import PGPhasePlanner
import Testing

@Suite struct LineDiffTests {
  @Test func aChangedLineIsOneHunkWithContext() {
    let old = "a\nb\nc\nd\ne\nf\ng\nh\n"
    let new = "a\nb\nc\nd\nE\nf\ng\nh\n"
    #expect(
      LineDiff.unified(old: old, new: new, oldName: "x (committed)", newName: "x (planned)")
        == "--- x (committed)\n+++ x (planned)\n@@\n b\n c\n d\n-e\n+E\n f\n g\n h\n")
    #expect(LineDiff.unified(old: old, new: old, oldName: "x", newName: "y") == "")
  }

  /// Generated edits: the old text is the unchanged and removed lines in order, the new text the
  /// unchanged and added lines, and only changed lines are marked.
  @Test func generatedEditsReconstructBothSides() {
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<200 {
      let old = (0..<Int.random(in: 0...30, using: &generator)).map { _ in String(Int.random(in: 0...5, using: &generator)) }
      var new = old
      for _ in 0..<Int.random(in: 1...6, using: &generator) {
        if !new.isEmpty, Bool.random(using: &generator) {
          new.remove(at: Int.random(in: 0..<new.count, using: &generator))
        } else {
          new.insert("n\(Int.random(in: 0...3, using: &generator))", at: Int.random(in: 0...new.count, using: &generator))
        }
      }
      let a = old.joined(separator: "\n")
      let b = new.joined(separator: "\n")
      let diff = LineDiff.unified(old: a, new: b, oldName: "old", newName: "new", context: 1000)
      guard a != b else {
        #expect(diff == "")
        continue
      }
      let body = diff.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(3).dropLast()
      let rebuiltOld = body.filter { !$0.hasPrefix("+") }.map { String($0.dropFirst()) }.joined(separator: "\n")
      let rebuiltNew = body.filter { !$0.hasPrefix("-") }.map { String($0.dropFirst()) }.joined(separator: "\n")
      #expect(rebuiltOld == a, "\(diff)")
      #expect(rebuiltNew == b, "\(diff)")
    }
  }
}
