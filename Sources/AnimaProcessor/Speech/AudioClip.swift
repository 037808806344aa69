/// Mono audio as floating-point samples in -1...1 at one sample rate.
///
/// What the speech engines take and give: the WAV decoder mixes channels down and converts
/// every sample format to this; `resampled(to:)` brings it to the rate a model wants.
public struct AudioClip: Sendable, Equatable {
    public var samples: [Float]
    /// Samples per second.
    public var sampleRate: Int

    public init(samples: [Float], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }

    /// Length in seconds.
    public var duration: Double { sampleRate > 0 ? Double(samples.count) / Double(sampleRate) : 0 }

    /// The clip at `rate` samples per second, by linear interpolation (after a moving-average
    /// low-pass when shrinking, so speech above the new Nyquist frequency does not alias).
    public func resampled(to rate: Int) -> AudioClip {
        guard rate > 0, sampleRate > 0, rate != sampleRate, !samples.isEmpty else { return AudioClip(samples: samples, sampleRate: rate) }
        var source = samples
        let ratio = Double(sampleRate) / Double(rate)
        if ratio > 1.5 {
            let width = Int(ratio.rounded())
            var filtered = [Float](repeating: 0, count: source.count)
            var sum: Float = 0
            for i in 0..<source.count {
                sum += source[i]
                if i >= width { sum -= source[i - width] }
                filtered[i] = sum / Float(min(i + 1, width))
            }
            source = filtered
        }
        let count = max(1, source.count * rate / sampleRate)
        var out = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let position = Double(i) * ratio
            let left = min(Int(position), source.count - 1)
            let right = min(left + 1, source.count - 1)
            let fraction = Float(position - Double(left))
            out[i] = source[left] * (1 - fraction) + source[right] * fraction
        }
        return AudioClip(samples: out, sampleRate: rate)
    }

    /// The samples from `start` to `end` seconds, clamped to the clip.
    public func slice(from start: Double, to end: Double) -> AudioClip {
        let lower = max(0, min(samples.count, Int(start * Double(sampleRate))))
        let upper = max(lower, min(samples.count, Int(end * Double(sampleRate))))
        return AudioClip(samples: Array(samples[lower..<upper]), sampleRate: sampleRate)
    }

    /// 16-bit little-endian PCM, clipped: the `pcm` response format and the WAV body.
    public var pcm16: [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(samples.count * 2)
        for sample in samples {
            let value = Int16(max(-1, min(1, sample.isFinite ? sample : 0)) * 32767)
            bytes.append(UInt8(truncatingIfNeeded: value))
            bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        }
        return bytes
    }
}
