import PGPhaseModel
import Testing

/// `Parallel.map` is `map` on every core: the same results, in the items' order.
@Suite struct ParallelTests {
  @Test func resultsComeBackInTheItemsOrder() {
    let items = Array(0..<5_000)
    for _ in 0..<20 {
      #expect(Parallel.map(items) { "\($0 * 7)" } == items.map { "\($0 * 7)" })
    }
  }

  @Test func noItemsAndOneItem() {
    #expect(Parallel.map([Int]()) { $0 + 1 } == [])
    #expect(Parallel.map([41]) { $0 + 1 } == [42])
  }
}
