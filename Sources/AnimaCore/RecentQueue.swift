/// The last `capacity` items appended, oldest first, in a ring: appending to a full queue
/// returns the oldest item, which leaves it, in constant time (an array's `removeFirst`
/// moves every other item, once per process exit in the kernel's tables).
public struct RecentQueue<Element> {
    public let capacity: Int
    private var ring: [Element] = []
    /// Where the oldest item is once the ring is full.
    private var oldest = 0

    public init(capacity: Int) {
        precondition(capacity >= 1, "a queue holds at least one item")
        self.capacity = capacity
    }

    public var count: Int { ring.count }

    /// Appends `item`; returns the item it pushed out, if the queue was full.
    public mutating func append(_ item: Element) -> Element? {
        guard ring.count == capacity else {
            ring.append(item)
            return nil
        }
        let evicted = ring[oldest]
        ring[oldest] = item
        oldest = (oldest + 1) % capacity
        return evicted
    }
}

extension RecentQueue: Sendable where Element: Sendable {}
