import Testing
import Yams

@testable import PGPhaseYAML

/// The hand-written YAML 1.1 scalar resolution gives Yams' default resolver's answer, on
/// every form in the resolver's patterns and on 200,000 generated strings built from the
/// characters those patterns use.
@Suite struct ScalarTypeTests {
  static func yams(_ text: String) -> Yams.Tag.Name { Resolver.default.resolveTag(of: Node.scalar(Node.Scalar(text))) }

  @Test func knownForms() {
    let forms = [
      "", "~", "null", "Null", "NULL", "nul", "yes", "Yes", "YES", "yEs", "no", "on", "off", "OFF", "oFF", "true", "false",
      "0", "00", "07", "08", "0o7", "0o8", "0b101", "0b", "0b2", "0x1F", "0x", "0xg", "+1", "-0", "1_000", "1__", "_1",
      "12:30", "1:70", "1:5", "0:30", "-1:30:59", "1.5", "1.", ".5", "._5", ".5e+3", ".5e3", "1e3", "1E-3", "1e", "1.5e+",
      "+.inf", "-.Inf", ".INF", ".nan", "-.nan", ".NaN", "1:30.5", "1:30.", "2024-01-01", "2024-1-1", "2024-01-01t10:00:00",
      "2024-1-1 10:00:00.5 -05:00", "2024-01-01T1:00:00Z", "2024-01-01 10:00:00 +5", "2024-01-01T10:00:00+05:3",
      "2024-01-01T10:00", "<<", "<", "=", "==", "name", "1a", "a1", "- 1", "1 ", " 1", "１",
    ]
    for text in forms {
      #expect(ScalarType.tag(of: text) == Self.yams(text), "\(text)")
    }
  }

  @Test func generatedStrings() {
    let alphabet = Array("0123456789_.:-+eExXoObB ZTtnNaAfFiIlyYsS~<=\t")
    var rng = SplitMix64(seed: 20_261_201)
    var mismatches: [String] = []
    for _ in 0..<200_000 {
      let length = Int(rng.next() % 12)
      let text = String((0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
      if ScalarType.tag(of: text) != Self.yams(text) { mismatches.append(text) }
    }
    #expect(mismatches.isEmpty, "\(mismatches.prefix(20))")
  }
}

/// A small seeded generator, so the strings are the same on every run.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
