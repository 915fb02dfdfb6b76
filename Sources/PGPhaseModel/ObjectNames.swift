extension SQL {
  /// The name PostgreSQL makes for an object nobody named (`makeObjectName` in the server):
  /// `name1_name2_label`, the longer of the two names cut first so the whole fits in 63 bytes,
  /// never inside a character. `orders` + `amount` + `idx` is `orders_amount_idx`.
  public static func makeObjectName(_ name1: String, _ name2: String?, label: String?) -> String {
    var overhead = 0
    var name1Bytes = name1.utf8.count
    var name2Bytes = 0
    if let name2 {
      name2Bytes = name2.utf8.count
      overhead += 1
    }
    if let label { overhead += label.utf8.count + 1 }
    let available = maxIdentifierBytes - overhead
    while name1Bytes + name2Bytes > available {
      if name1Bytes > name2Bytes { name1Bytes -= 1 } else { name2Bytes -= 1 }
    }
    var result = clip(name1, toBytes: name1Bytes)
    if let name2 { result += "_" + clip(name2, toBytes: name2Bytes) }
    if let label { result += "_" + label }
    return result
  }

  /// A name as PostgreSQL chooses one that is not taken (`ChooseRelationName`,
  /// `ChooseConstraintName`): `makeObjectName`, else with `label1`, `label2`, ... until `isTaken`
  /// says no.
  public static func chooseName(_ name1: String, _ name2: String?, label: String, isTaken: (String) -> Bool) -> String {
    var candidate = makeObjectName(name1, name2, label: label)
    var pass = 0
    while isTaken(candidate) {
      pass += 1
      candidate = makeObjectName(name1, name2, label: "\(label)\(pass)")
    }
    return candidate
  }

  /// Column names joined by `_` as PostgreSQL joins them into an index or constraint name
  /// (`ChooseIndexNameAddition`): stops once the result reaches 63 bytes.
  public static func nameAddition(_ names: [String]) -> String {
    var result = ""
    for name in names {
      if !result.isEmpty { result += "_" }
      result += name
      if result.utf8.count >= maxIdentifierBytes { break }
    }
    return clip(result, toBytes: maxIdentifierBytes)
  }

  /// The longest prefix of `text` of at most `bytes` UTF-8 bytes that ends on a character boundary.
  static func clip(_ text: String, toBytes bytes: Int) -> String {
    var out = ""
    var used = 0
    for scalar in text.unicodeScalars {
      let size = String(scalar).utf8.count
      if used + size > bytes { break }
      out.unicodeScalars.append(scalar)
      used += size
    }
    return out
  }
}
