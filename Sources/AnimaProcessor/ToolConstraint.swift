/// How much of a generation a tool grammar holds, when tools are offered.
///
/// A small model may write a call in the wrong shape, name a tool that does not exist, or
/// wrap a call in prose. `wholeAnswer` leaves it two ways out: a well-formed call of an
/// offered tool, or an answer that does not start like a call. Processors without
/// grammars (remote providers) ignore this.
public enum ToolConstraint: String, Sendable, Hashable, CaseIterable {
    /// The grammar wakes only when the model opens a call with its template's tag (OpenAI's
    /// `tool_choice: auto`); the rest of the answer is free.
    case whenCalling = "when-calling"
    /// Every token is under the grammar: either well-formed calls or an answer.
    case wholeAnswer = "whole-answer"
    /// No grammar at all: calls are parsed from whatever the model writes (for measuring
    /// what constraints add).
    case off
}
