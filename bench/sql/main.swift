// pgphase-sql-bench: how fast each way of reading libpg_query's JSON parse tree is, on the same
// trees. The linter keeps the fastest (PGPhaseSQL's JSONValue.parse); ParseTreeReaderTests checks
// that it reads the same values as JSONSerialization.
//
//   swift run -c release pgphase-sql-bench [FOLDER_OF_SQL_FILES] [ROUNDS]
//
// Without a folder it reads the statements of plans/ and examples/ (run from the repository root).
import Foundation
import PGPhaseSQL

/// Any JSON value through `JSONDecoder` (the Codable path).
enum DecodableTree: Decodable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([DecodableTree])
  case object([String: DecodableTree])

  struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }

  init(from decoder: any Decoder) throws {
    if let keyed = try? decoder.container(keyedBy: Key.self) {
      var members: [String: DecodableTree] = [:]
      for key in keyed.allKeys { members[key.stringValue] = try keyed.decode(DecodableTree.self, forKey: key) }
      self = .object(members)
    } else if var unkeyed = try? decoder.unkeyedContainer() {
      var items: [DecodableTree] = []
      while !unkeyed.isAtEnd { items.append(try unkeyed.decode(DecodableTree.self)) }
      self = .array(items)
    } else {
      let single = try decoder.singleValueContainer()
      if single.decodeNil() {
        self = .null
      } else if let b = try? single.decode(Bool.self) {
        self = .bool(b)
      } else if let n = try? single.decode(Double.self) {
        self = .number(n)
      } else {
        self = .string(try single.decode(String.self))
      }
    }
  }
}

let arguments = CommandLine.arguments
let rounds = arguments.count > 2 ? Int(arguments[2]) ?? 5 : 5
var files: [String] = []
let roots = arguments.count > 1 ? [arguments[1]] : ["plans", "examples"]
for root in roots {
  for case let path as String in FileManager.default.enumerator(atPath: root)?.allObjects ?? [] where path.hasSuffix(".sql") {
    files.append(root + "/" + path)
  }
}
let trees = files.compactMap { path -> [UInt8]? in
  guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
  return SQLParser.parseTreeJSON(text)
}
let bytes = trees.reduce(0) { $0 + $1.count }
print("\(trees.count) parse trees from \(files.count) files, \(bytes / 1024) KiB of JSON, best of \(rounds) rounds")

func measure(_ name: String, _ body: ([UInt8]) throws -> Void) rethrows {
  var best = Double.infinity
  for _ in 0..<rounds {
    let start = DispatchTime.now().uptimeNanoseconds
    for tree in trees { try body(tree) }
    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
  }
  print("\(name.padding(toLength: 34, withPad: " ", startingAt: 0)) \(String(format: "%8.1f", best)) ms")
}

try measure("JSONValue.parse (PGPhaseSQL)") { tree in
  _ = try tree.withUnsafeBufferPointer { try JSONValue.parse($0) }
}
try measure("JSONDecoder (Decodable tree)") { tree in
  _ = try JSONDecoder().decode(DecodableTree.self, from: Data(tree))
}
try measure("JSONSerialization") { tree in
  _ = try JSONSerialization.jsonObject(with: Data(tree))
}
