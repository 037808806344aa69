import AnimaProcessor
import AnimaTesting
import Testing

import AnimaKernel

@Suite("ScriptedProcessor: answers asked for whole")
struct ScriptedProcessorWholeAnswerTests {
    static func started(whole: Bool) -> (ScriptedProcessor, any GenerationControl) {
        let processor = ScriptedProcessor(slots: 1, scheduler: Scheduler()) { _ in .text("one two three") }
        var request = GenerationRequest(messages: [.user("hi")])
        request.wholeAnswer = whole
        return (processor, processor.start(request, priority: 0))
    }

    @Test("the events come at the end, the same events; cut short, none of its words were handed over")
    func heldUntilTheEnd() async throws {
        let (processor, whole) = Self.started(whole: true)
        while processor.occupancy.running + processor.occupancy.waiting > 0 { processor.step() }
        let (plainProcessor, plain) = Self.started(whole: false)
        while plainProcessor.occupancy.running + plainProcessor.occupancy.waiting > 0 { plainProcessor.step() }
        var wholeEvents: [GenerationEvent] = []
        for try await event in whole.events { wholeEvents.append(event) }
        var plainEvents: [GenerationEvent] = []
        for try await event in plain.events { plainEvents.append(event) }
        #expect(wholeEvents == plainEvents && wholeEvents.count == 5)

        // Two of three words generated, then cancelled: a token-by-token reader has them, a whole one nothing.
        for whole in [true, false] {
            let (processor, control) = Self.started(whole: whole)
            processor.step()
            processor.step()
            await control.cancel()
            var words = 0
            do { for try await event in control.events { if case .text = event { words += 1 } } } catch {}
            #expect(words == (whole ? 0 : 2), "whole: \(whole)")
        }
    }
}
