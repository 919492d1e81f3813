using System.Runtime.InteropServices;

namespace Pronto.Batch.Scoring;

/// <summary>
/// One scorer thread's feature matrix, reused for every batch it scores: the engine reads it in place (pinned for
/// the run, not copied), and nothing keeps it once the inference has returned, so the next batch may overwrite it.
/// </summary>
internal sealed class FeatureBuffer
{
    private byte[] _bytes = [];

    /// <summary>The first <paramref name="count"/> floats, grown when a batch needs more.</summary>
    public Span<float> Floats(int count)
    {
        if (_bytes.Length < count * sizeof(float))
        {
            _bytes = new byte[count * sizeof(float)];
        }

        return MemoryMarshal.Cast<byte, float>(_bytes.AsSpan(0, count * sizeof(float)));
    }

    /// <summary>The bytes of the first <paramref name="count"/> floats of the last <see cref="Floats"/>.</summary>
    public ReadOnlyMemory<byte> Bytes(int count) => _bytes.AsMemory(0, count * sizeof(float));
}
