/// An object of a `SchemaSnapshot` that is found by a key (its name, or a function's name and
/// arguments), unique among its siblings.
public protocol SchemaSnapshotObject: Hashable, Sendable, Codable {
  associatedtype Key: Hashable, Comparable, Sendable
  var key: Key { get }
}

/// Objects of one kind keyed by name: looked up and replaced by key in constant time (the planner
/// applies many intents to a snapshot of a thousand tables), and always iterated, encoded and
/// compared in key order, so a snapshot has one form whatever order its objects were read in.
public struct SchemaObjectMap<Element: SchemaSnapshotObject>: Hashable, Sendable, Sequence, ExpressibleByArrayLiteral {
  private var storage: [Element.Key: Element] = [:]
  /// The keys in order, kept sorted as keys come and go, so iterating costs no sort.
  public private(set) var keys: [Element.Key] = []

  public init() {}

  /// The elements, each under its own key; a later element replaces an earlier one with the same key.
  public init(_ elements: some Swift.Sequence<Element>) {
    for element in elements { storage[element.key] = element }
    keys = storage.keys.sorted()
  }

  public init(arrayLiteral elements: Element...) { self.init(elements) }

  /// The element with this key. Setting stores `newValue` under its own key (which must be `key`:
  /// rename by removing and inserting); setting nil removes it.
  public subscript(key: Element.Key) -> Element? {
    get { storage[key] }
    set {
      if let newValue {
        precondition(newValue.key == key, "SchemaObjectMap: element stored under another key than its own")
        insert(newValue)
      } else {
        remove(key)
      }
    }
  }

  /// Adds or replaces `element` under its key; returns the element it replaced.
  @discardableResult
  public mutating func insert(_ element: Element) -> Element? {
    let old = storage.updateValue(element, forKey: element.key)
    if old == nil { keys.insert(element.key, at: insertionPoint(of: element.key)) }
    return old
  }

  @discardableResult
  public mutating func remove(_ key: Element.Key) -> Element? {
    guard let old = storage.removeValue(forKey: key) else { return nil }
    keys.remove(at: insertionPoint(of: key))
    return old
  }

  /// Where `key` is, or would go, in `keys`.
  private func insertionPoint(of key: Element.Key) -> Int {
    var lo = 0
    var hi = keys.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if keys[mid] < key { lo = mid + 1 } else { hi = mid }
    }
    return lo
  }

  public func contains(_ key: Element.Key) -> Bool { storage[key] != nil }

  public var count: Int { storage.count }
  public var isEmpty: Bool { storage.isEmpty }

  /// The elements, in key order.
  public var sorted: [Element] { keys.map { storage[$0]! } }

  public func makeIterator() -> IndexingIterator<[Element]> { sorted.makeIterator() }

  /// Applies `body` to every element in place (keys must not change).
  public mutating func updateEach(_ body: (inout Element) throws -> Void) rethrows {
    for key in keys {
      var element = storage[key]!
      try body(&element)
      precondition(element.key == key, "SchemaObjectMap.updateEach: an element's key changed")
      storage[key] = element
    }
  }

  public static func == (a: SchemaObjectMap, b: SchemaObjectMap) -> Bool { a.storage == b.storage }

  public func hash(into hasher: inout Hasher) { hasher.combine(storage) }
}

extension SchemaObjectMap: Codable {
  /// Encoded as an array in key order, so the JSON of a snapshot is deterministic.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(sorted)
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    let elements = try container.decode([Element].self)
    self.init(elements)
    if storage.count != elements.count {
      throw DecodingError.dataCorruptedError(in: container, debugDescription: "two objects with the same name")
    }
  }
}
