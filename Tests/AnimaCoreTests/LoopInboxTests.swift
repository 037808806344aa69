import AnimaCore
import Foundation
import Synchronization
import Testing

@Suite("Loop inbox")
struct LoopInboxTests {
    @Test("the loop takes everything posted since its last step, in order")
    func batchesInOrder() {
        let inbox = LoopInbox<Int>()
        for n in 1...5 { #expect(inbox.post(n)) }
        let first = inbox.take(wait: false)
        #expect(first.messages == [1, 2, 3, 4, 5])
        #expect(!first.stop)
        #expect(inbox.take(wait: false).messages.isEmpty)
    }

    @Test("a waiting loop wakes for a message from another thread")
    func waitsForAMessage() async {
        let inbox = LoopInbox<String>()
        let taken = Mutex<[String]?>(nil)
        let done = DispatchSemaphore(value: 0)
        DedicatedThread.detach(name: "inbox-test") {
            let result = inbox.take(wait: true)
            taken.withLock { $0 = result.messages }
            done.signal()
        }
        #expect(inbox.post("hello"))
        done.wait()
        #expect(taken.withLock { $0 } == ["hello"])
    }

    @Test("stop wakes the loop, waits for it to finish, and refuses later messages")
    func stopHandshake() {
        let inbox = LoopInbox<Int>()
        let leftovers = Mutex<[Int]>([])
        let finishedLoop = Mutex(false)
        #expect(inbox.post(7))
        DedicatedThread.detach(name: "inbox-test") {
            while true {
                let (messages, stop) = inbox.take(wait: true)
                if stop {
                    leftovers.withLock { $0 = messages }
                    finishedLoop.withLock { $0 = true }
                    inbox.finish()
                    return
                }
            }
        }
        inbox.stop()
        // stop() returned only after the loop called finish().
        #expect(finishedLoop.withLock { $0 })
        #expect(!inbox.post(8))
        inbox.stop()  // a second stop returns at once
        #expect(leftovers.withLock { $0 }.allSatisfy { $0 == 7 })
    }
}
