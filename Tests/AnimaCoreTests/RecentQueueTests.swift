import AnimaCore
import Testing

@Suite("Recent queue")
struct RecentQueueTests {
    @Test("a full queue pushes out its oldest item for each new one, in order, and keeps its capacity")
    func pushesOutTheOldest() {
        var queue = RecentQueue<Int>(capacity: 3)
        #expect([1, 2, 3].map { queue.append($0) } == [nil, nil, nil])
        #expect(queue.count == 3)
        // Around the ring more than once: each append returns what came `capacity` appends before it.
        #expect((4...10).map { queue.append($0) } == (1...7).map { Optional($0) })
        #expect(queue.count == 3)
    }

    @Test("a queue of one keeps only the last item")
    func holdsOne() {
        var queue = RecentQueue<String>(capacity: 1)
        #expect(queue.append("a") == nil)
        #expect(queue.append("b") == "a")
        #expect(queue.append("c") == "b")
    }
}
