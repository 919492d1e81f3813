using Pronto.Models.Onnx;

namespace Pronto.Models.Generative;

/// <summary>
/// A decoder-only transformer's size: vocabulary, layers, heads of <paramref name="HeadDim"/>, learned positions up to
/// <paramref name="ContextLength"/>, a ReLU MLP <paramref name="MlpWidth"/> wide, and pre-layer norms when
/// <paramref name="LayerNorm"/> (GPT-2's block: x + attn(ln1(x)), x + mlp(ln2(x)), a final norm before the head).
/// </summary>
public sealed record DecoderDims(int Vocab, int Layers, int Heads, int HeadDim, int ContextLength, int MlpWidth, bool LayerNorm)
{
    public int Hidden => Heads * HeadDim;
}

/// <summary>One layer's weights, row-major [in, out] matrices as ONNX MatMul takes them.</summary>
public sealed class DecoderLayer(DecoderDims d)
{
    public float[] Ln1Gain { get; } = Ones(d.LayerNorm ? d.Hidden : 0);
    public float[] Ln1Bias { get; } = new float[d.LayerNorm ? d.Hidden : 0];
    public float[] Query { get; } = new float[d.Hidden * d.Hidden];
    public float[] Key { get; } = new float[d.Hidden * d.Hidden];
    public float[] Value { get; } = new float[d.Hidden * d.Hidden];
    public float[] Output { get; } = new float[d.Hidden * d.Hidden];
    public float[] Ln2Gain { get; } = Ones(d.LayerNorm ? d.Hidden : 0);
    public float[] Ln2Bias { get; } = new float[d.LayerNorm ? d.Hidden : 0];
    public float[] Up { get; } = new float[d.Hidden * d.MlpWidth];
    public float[] Down { get; } = new float[d.MlpWidth * d.Hidden];

    internal static float[] Ones(int n)
    {
        var values = new float[n];
        Array.Fill(values, 1f);
        return values;
    }
}

/// <summary>
/// A decoder's weights, and its ONNX graph in Hugging Face Optimum's layout, the one Pronto serves:
/// <c>input_ids</c> [batch, seq], <c>attention_mask</c> [batch, total_seq], <c>position_ids</c> [batch, seq],
/// <c>past_key_values.{i}.key/value</c> [batch, heads, past_seq, head_dim] -> <c>logits</c> [batch, seq, vocab],
/// <c>present.{i}.key/value</c>.
/// </summary>
public sealed class DecoderWeights
{
    public DecoderWeights(DecoderDims dims)
    {
        Dims = dims;
        Embed = new float[dims.Vocab * dims.Hidden];
        Positions = new float[dims.ContextLength * dims.Hidden];
        Layers = [.. Enumerable.Range(0, dims.Layers).Select(_ => new DecoderLayer(dims))];
        FinalGain = DecoderLayer.Ones(dims.LayerNorm ? dims.Hidden : 0);
        FinalBias = new float[dims.LayerNorm ? dims.Hidden : 0];
        Head = new float[dims.Hidden * dims.Vocab];
    }

    public DecoderDims Dims { get; }
    public float[] Embed { get; }
    public float[] Positions { get; }
    public IReadOnlyList<DecoderLayer> Layers { get; }
    public float[] FinalGain { get; }
    public float[] FinalBias { get; }
    public float[] Head { get; }

    /// <summary>Every weight array (norm gains and biases included), in a fixed order.</summary>
    public IEnumerable<float[]> All()
    {
        yield return Embed;
        yield return Positions;
        foreach (var l in Layers)
        {
            foreach (var a in (float[][])[l.Ln1Gain, l.Ln1Bias, l.Query, l.Key, l.Value, l.Output, l.Ln2Gain, l.Ln2Bias, l.Up, l.Down])
            {
                yield return a;
            }
        }

        yield return FinalGain;
        yield return FinalBias;
        yield return Head;
    }

    public long Parameters => All().Sum(a => (long)a.Length);

    public static string PastKey(int layer) => $"past_key_values.{layer}.key";

    public static string PastValue(int layer) => $"past_key_values.{layer}.value";

    public static string PresentKey(int layer) => $"present.{layer}.key";

    public static string PresentValue(int layer) => $"present.{layer}.value";

    /// <summary>The norms' epsilon, in training and in the graph.</summary>
    public const float NormEpsilon = 1e-5f;

    /// <summary>
    /// Writes the decoder as an ONNX model (opset 17) to <paramref name="path"/>: attention as plain operators, or with
    /// <paramref name="groupQueryAttention"/> as ONNX Runtime's GroupQueryAttention (com.microsoft), the way ONNX Runtime
    /// GenAI's model builder writes Llama, Phi, Qwen and Mistral: its <c>seqlens_k</c> (each row's tokens less one) and
    /// <c>total_sequence_length</c> come from the attention mask, so each row's tokens must lead its past and present
    /// (right padding), the new ones written after them. With <paramref name="float16Io"/> the past and present caches
    /// and the logits are FP16 (as fp16 exports give them; the arithmetic stays FP32 between Casts).
    /// </summary>
    public void WriteOnnx(string path, string producer, bool groupQueryAttention = false, bool float16Io = false)
    {
        var d = Dims;
        var graph = new GraphProto { Name = "decoder" };
        const TensorProto.Types.DataType F = TensorProto.Types.DataType.Float;
        const TensorProto.Types.DataType I = TensorProto.Types.DataType.Int64;
        graph.Input.Add(OnnxModelEditor.TensorValue("input_ids", I, "batch", "seq"));
        graph.Input.Add(OnnxModelEditor.TensorValue("attention_mask", I, "batch", "total_seq"));
        graph.Input.Add(OnnxModelEditor.TensorValue("position_ids", I, "batch", "seq"));
        for (var i = 0; i < d.Layers; i++)
        {
            graph.Input.Add(OnnxModelEditor.TensorValue(PastKey(i), F, "batch", (long)d.Heads, "past_seq", (long)d.HeadDim));
            graph.Input.Add(OnnxModelEditor.TensorValue(PastValue(i), F, "batch", (long)d.Heads, "past_seq", (long)d.HeadDim));
        }

        graph.Output.Add(OnnxModelEditor.TensorValue("logits", F, "batch", "seq", (long)d.Vocab));
        for (var i = 0; i < d.Layers; i++)
        {
            graph.Output.Add(OnnxModelEditor.TensorValue(PresentKey(i), F, "batch", (long)d.Heads, "total_seq", (long)d.HeadDim));
            graph.Output.Add(OnnxModelEditor.TensorValue(PresentValue(i), F, "batch", (long)d.Heads, "total_seq", (long)d.HeadDim));
        }

        void Weights(string name, float[] values, int rows, int columns) =>
            graph.Initializer.Add(OnnxModelEditor.FloatTensor(name, rows == 1 ? [columns] : [rows, columns], values));

        void Node(string op, string[] inputs, string output, params AttributeProto[] attributes) =>
            graph.Node.Add(OnnxModelEditor.Node(op, output, inputs, [output], attributes));

        static AttributeProto Ints(string name, params long[] values) =>
            new() { Name = name, Type = AttributeProto.Types.AttributeType.Ints, Ints = { values } };

        string Norm(string input, float[] gain, float[] bias, string name)
        {
            if (!d.LayerNorm)
            {
                return input;
            }

            Weights($"{name}_g", gain, 1, d.Hidden);
            Weights($"{name}_b", bias, 1, d.Hidden);
            Node("LayerNormalization", [input, $"{name}_g", $"{name}_b"], name,
                OnnxModelEditor.IntAttribute("axis", -1), new AttributeProto { Name = "epsilon", Type = AttributeProto.Types.AttributeType.Float, F = NormEpsilon });
            return name;
        }

        Weights("embed", Embed, d.Vocab, d.Hidden);
        Weights("pos_embed", Positions, d.ContextLength, d.Hidden);
        graph.Initializer.Add(OnnxModelEditor.Int64Tensor("zero", [], [0]));
        graph.Initializer.Add(OnnxModelEditor.Int64Tensor("one", [], [1]));
        graph.Initializer.Add(OnnxModelEditor.Int64Tensor("axis1", [1], [1]));
        graph.Initializer.Add(OnnxModelEditor.Int64Tensor("axes12", [2], [1, 2]));
        graph.Initializer.Add(OnnxModelEditor.Int64Tensor("split_heads", [4], [0, 0, d.Heads, d.HeadDim]));
        graph.Initializer.Add(OnnxModelEditor.Int64Tensor("merge_heads", [3], [0, 0, d.Hidden]));
        graph.Initializer.Add(OnnxModelEditor.FloatTensor("zero_f", [], [0f]));
        graph.Initializer.Add(OnnxModelEditor.FloatTensor("masked_f", [], [-1e9f]));
        graph.Initializer.Add(OnnxModelEditor.FloatTensor("scale", [], [1f / MathF.Sqrt(d.HeadDim)]));

        Node("Gather", ["embed", "input_ids"], "tok");
        Node("Gather", ["pos_embed", "position_ids"], "pos");
        Node("Add", ["tok", "pos"], "x0");

        if (groupQueryAttention)
        {
            // GroupQueryAttention's lengths, as the model builder derives them: seqlens_k = sum(mask) - 1 per row, the
            // total length = the mask's width.
            graph.Initializer.Add(OnnxModelEditor.Int64Tensor("axes_1", [1], [1]));
            Node("ReduceSum", ["attention_mask", "axes_1"], "mask_sum", OnnxModelEditor.IntAttribute("keepdims", 0));
            Node("Sub", ["mask_sum", "one"], "seqlens_64");
            Node("Cast", ["seqlens_64"], "seqlens_k", OnnxModelEditor.IntAttribute("to", (long)TensorProto.Types.DataType.Int32));
            Node("Shape", ["attention_mask"], "gqa_mask_shape");
            Node("Gather", ["gqa_mask_shape", "one"], "gqa_total_64");
            Node("Cast", ["gqa_total_64"], "total_sequence_length", OnnxModelEditor.IntAttribute("to", (long)TensorProto.Types.DataType.Int32));
        }
        else
        {
            // Mask [batch, 1, seq, total_seq]: key j is visible to query i when j <= past + i and attention_mask[j] is 1.
            Node("Shape", ["input_ids"], "ids_shape");
            Node("Gather", ["ids_shape", "one"], "seq_len");
            Node("Shape", ["attention_mask"], "mask_shape");
            Node("Gather", ["mask_shape", "one"], "total_len");
            Node("Sub", ["total_len", "seq_len"], "past_len");
            Node("Range", ["past_len", "total_len", "one"], "query_pos");
            Node("Range", ["zero", "total_len", "one"], "key_pos");
            Node("Unsqueeze", ["query_pos", "axis1"], "query_col");
            Node("LessOrEqual", ["key_pos", "query_col"], "causal");
            Node("Cast", ["attention_mask"], "mask_bool", OnnxModelEditor.IntAttribute("to", (long)TensorProto.Types.DataType.Bool));
            Node("Unsqueeze", ["mask_bool", "axes12"], "mask4");
            Node("And", ["causal", "mask4"], "allowed");
            Node("Where", ["allowed", "zero_f", "masked_f"], "bias");
        }

        var x = "x0";
        for (var i = 0; i < d.Layers; i++)
        {
            var layer = Layers[i];
            var h = Norm(x, layer.Ln1Gain, layer.Ln1Bias, $"ln1_{i}");
            foreach (var (part, values) in new[] { ("q", layer.Query), ("k", layer.Key), ("v", layer.Value) })
            {
                Weights($"w{part}{i}", values, d.Hidden, d.Hidden);
                Node("MatMul", [h, $"w{part}{i}"], $"{part}{i}");
                if (!groupQueryAttention)
                {
                    Node("Reshape", [$"{part}{i}", "split_heads"], $"{part}{i}_4");
                    Node("Transpose", [$"{part}{i}_4"], $"{part}{i}_t", Ints("perm", 0, 2, 1, 3));
                }
            }

            if (groupQueryAttention)
            {
                var attention = OnnxModelEditor.Node("GroupQueryAttention", $"attention{i}",
                    [$"q{i}", $"k{i}", $"v{i}", PastKey(i), PastValue(i), "seqlens_k", "total_sequence_length"], [$"attn{i}_m", PresentKey(i), PresentValue(i)],
                    OnnxModelEditor.IntAttribute("num_heads", d.Heads), OnnxModelEditor.IntAttribute("kv_num_heads", d.Heads));
                attention.Domain = "com.microsoft";
                graph.Node.Add(attention);
            }
            else
            {
                graph.Node.Add(OnnxModelEditor.Node("Concat", $"concat_k{i}", [PastKey(i), $"k{i}_t"], [PresentKey(i)], OnnxModelEditor.IntAttribute("axis", 2)));
                graph.Node.Add(OnnxModelEditor.Node("Concat", $"concat_v{i}", [PastValue(i), $"v{i}_t"], [PresentValue(i)], OnnxModelEditor.IntAttribute("axis", 2)));
                Node("Transpose", [PresentKey(i)], $"kT{i}", Ints("perm", 0, 1, 3, 2));
                Node("MatMul", [$"q{i}_t", $"kT{i}"], $"scores{i}");
                Node("Mul", [$"scores{i}", "scale"], $"scaled{i}");
                Node("Add", [$"scaled{i}", "bias"], $"biased{i}");
                Node("Softmax", [$"biased{i}"], $"probs{i}", OnnxModelEditor.IntAttribute("axis", -1));
                Node("MatMul", [$"probs{i}", PresentValue(i)], $"attn{i}");
                Node("Transpose", [$"attn{i}"], $"attn{i}_t", Ints("perm", 0, 2, 1, 3));
                Node("Reshape", [$"attn{i}_t", "merge_heads"], $"attn{i}_m");
            }

            Weights($"wo{i}", layer.Output, d.Hidden, d.Hidden);
            Node("MatMul", [$"attn{i}_m", $"wo{i}"], $"o{i}");
            Node("Add", [x, $"o{i}"], $"x{i}_a");
            var h2 = Norm($"x{i}_a", layer.Ln2Gain, layer.Ln2Bias, $"ln2_{i}");
            Weights($"w1_{i}", layer.Up, d.Hidden, d.MlpWidth);
            Weights($"w2_{i}", layer.Down, d.MlpWidth, d.Hidden);
            Node("MatMul", [h2, $"w1_{i}"], $"h{i}");
            Node("Relu", [$"h{i}"], $"hr{i}");
            Node("MatMul", [$"hr{i}", $"w2_{i}"], $"m{i}");
            Node("Add", [$"x{i}_a", $"m{i}"], $"x{i + 1}");
            x = $"x{i + 1}";
        }

        x = Norm(x, FinalGain, FinalBias, "ln_f");
        Weights("lm_head", Head, d.Hidden, d.Vocab);
        Node("MatMul", [x, "lm_head"], "logits");

        if (float16Io)
        {
            CastInputsAndOutputs(graph, TensorProto.Types.DataType.Float16);
        }

        var model = new ModelProto { IrVersion = 8, ProducerName = producer, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        if (groupQueryAttention)
        {
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        }
        OnnxModelEditor.Save(model, path);
    }

    /// <summary>
    /// Gives the graph's float inputs and outputs <paramref name="type"/>: each such input is cast to float where the
    /// graph reads it, each such output is the graph's float result cast to <paramref name="type"/>.
    /// </summary>
    private static void CastInputsAndOutputs(GraphProto graph, TensorProto.Types.DataType type)
    {
        const TensorProto.Types.DataType F = TensorProto.Types.DataType.Float;
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in graph.Input.Concat(graph.Output).Where(v => v.Type.TensorType.ElemType == (int)F))
        {
            renamed[value.Name] = value.Name + "_f32";
            value.Type.TensorType.ElemType = (int)type;
        }

        foreach (var node in graph.Node)
        {
            for (var i = 0; i < node.Input.Count; i++)
            {
                node.Input[i] = renamed.GetValueOrDefault(node.Input[i], node.Input[i]);
            }

            for (var i = 0; i < node.Output.Count; i++)
            {
                node.Output[i] = renamed.GetValueOrDefault(node.Output[i], node.Output[i]);
            }
        }

        var to = OnnxModelEditor.IntAttribute("to", (long)F);
        var back = OnnxModelEditor.IntAttribute("to", (long)type);
        var index = 0;
        foreach (var input in graph.Input.Where(v => renamed.ContainsKey(v.Name)))
        {
            graph.Node.Insert(index++, OnnxModelEditor.Node("Cast", $"cast_{input.Name}", [input.Name], [renamed[input.Name]], to));
        }

        foreach (var output in graph.Output.Where(v => renamed.ContainsKey(v.Name)))
        {
            graph.Node.Add(OnnxModelEditor.Node("Cast", $"cast_{output.Name}", [renamed[output.Name]], [output.Name], back));
        }
    }
}
