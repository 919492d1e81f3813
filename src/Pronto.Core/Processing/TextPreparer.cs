using System.Text;
using Microsoft.ML.Tokenizers;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;

namespace Pronto.Core.Processing;

/// <summary>
/// Text -> BERT WordPiece ids, attention mask and token type ids, padded to the longest text of the batch
/// (and cut at <c>pronto.text.max_tokens</c>, [CLS] and [SEP] included).
/// </summary>
public sealed class TextPreparer : IInputPreparer
{
    private readonly BertTokenizer _tokenizer;
    private readonly int _maxTokens;
    private readonly string _idsInput;
    private readonly string _maskInput;
    private readonly string? _typeInput;
    private readonly DataType _idType;

    private TextPreparer(BertTokenizer tokenizer, int maxTokens, string idsInput, string maskInput, string? typeInput, DataType idType)
    {
        _tokenizer = tokenizer;
        _maxTokens = maxTokens;
        _idsInput = idsInput;
        _maskInput = maskInput;
        _typeInput = typeInput;
        _idType = idType;
    }

    public string InputName => "text";

    public string ItemDescription => "UTF-8 text";

    internal static TextPreparer Create(ProcessingParameters p, string modelDirectory)
    {
        var vocab = ModelProcessing.ResolveFile(p.Config, modelDirectory, p.Get(ProntoParameters.TextVocab) ?? "vocab.txt");
        var tokenizer = BertTokenizer.Create(vocab, new BertOptions { LowerCaseBeforeTokenization = p.GetBool(ProntoParameters.TextLowercase, true) });
        var ids = p.Input(p.Get(ProntoParameters.TextIdsInput) ?? "input_ids");
        var mask = p.Input(p.Get(ProntoParameters.TextMaskInput) ?? "attention_mask");
        // The type input is optional by default (some BERT exports drop it), required when named.
        var typeName = p.Get(ProntoParameters.TextTypeInput);
        var type = typeName is null ? p.Config.Inputs.Find(t => t.Name == "token_type_ids") : p.Input(typeName);
        if (ids.DataType is not (DataType.Int64 or DataType.Int32) || mask.DataType != ids.DataType || (type is not null && type.DataType != ids.DataType))
        {
            ProntoErrors.InvalidArgument($"model '{p.Config.Name}': text preparation needs INT64 or INT32 id, mask and type inputs of one type");
        }

        return new TextPreparer(tokenizer, p.GetInt(ProntoParameters.TextMaxTokens, 256), ids.Name, mask.Name, type?.Name, ids.DataType);
    }

    /// <summary>Token ids of one text, [CLS] ... [SEP], at most max_tokens long.</summary>
    public IReadOnlyList<int> Tokenize(string text) =>
        _tokenizer.EncodeToIds(text, _maxTokens, addSpecialTokens: true, out _, out _, considerPreTokenization: true, considerNormalization: true);

    public IReadOnlyList<NamedTensor> Prepare(Tensor items)
    {
        var texts = PreparerItems.Read(items, InputName);
        var tokenized = new IReadOnlyList<int>[texts.Count];
        var longest = 1;
        for (var i = 0; i < tokenized.Length; i++)
        {
            string text;
            try
            {
                text = PreparerItems.StrictUtf8.GetString(texts[i].Span);
            }
            catch (DecoderFallbackException)
            {
                return ProntoErrors.InvalidArgument<IReadOnlyList<NamedTensor>>($"input 'text' element {i} is not valid UTF-8");
            }

            tokenized[i] = Tokenize(text);
            longest = Math.Max(longest, tokenized[i].Count);
        }

        var n = tokenized.Length;
        var ids = new long[n * longest];
        var mask = new long[n * longest];
        for (var i = 0; i < n; i++)
        {
            var row = tokenized[i];
            var offset = i * longest;
            for (var j = 0; j < row.Count; j++)
            {
                ids[offset + j] = row[j];
                mask[offset + j] = 1;
            }

            // Padding keeps id 0 ([PAD] in BERT vocabularies) with mask 0, so pooling ignores it.
        }

        long[] shape = [n, longest];
        var result = new List<NamedTensor>(3)
        {
            new(_idsInput, Build(ids, shape)),
            new(_maskInput, Build(mask, shape)),
        };
        if (_typeInput is not null)
        {
            result.Add(new(_typeInput, Build(new long[n * longest], shape)));
        }

        return result;
    }

    private Tensor Build(long[] values, long[] shape)
    {
        if (_idType == DataType.Int64)
        {
            return Tensor.Create(values, shape);
        }

        var narrow = new int[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            narrow[i] = (int)values[i];
        }

        return Tensor.Create(narrow, shape);
    }
}
