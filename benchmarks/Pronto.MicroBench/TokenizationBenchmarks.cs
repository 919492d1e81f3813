using BenchmarkDotNet.Attributes;
using Pronto.Core.Inference;
using Pronto.Core.Processing;
using Pronto.Core.Tensors;

namespace Pronto.MicroBench;

/// <summary>
/// minilm's <see cref="TextPreparer.Prepare"/>: UTF-8 check, BERT WordPiece (Microsoft.ML.Tokenizers) and the
/// padded INT64 ids, mask and type ids, for one 10-word sentence and for a batch of 32.
/// </summary>
[MemoryDiagnoser]
public class TokenizationBenchmarks
{
    private TextPreparer _preparer = null!;
    private Tensor _items = null!;

    [Params(1, 32)]
    public int Texts { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _preparer = MiniLmText.Preparer();
        _items = Tensor.FromStrings(MiniLmText.Sentences(Texts, 10, 10));
    }

    [Benchmark]
    public IReadOnlyList<NamedTensor> Prepare() => _preparer.Prepare(_items);
}
