using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Pronto.Models.Fraud;

namespace Pronto.Models.Generative;

/// <summary>A training sequence: its tokens, and the first token index whose prediction counts in the loss.</summary>
public sealed record TrainingSequence(int[] Tokens, int LossFrom);

/// <summary>
/// Trains a <see cref="DecoderWeights"/> decoder (pre-layer norms) by next-token cross-entropy with Adam, on the CPU:
/// the forward pass keeps what the backward pass needs, the backward pass is written out by hand (matrix products,
/// causal softmax attention, layer norm, ReLU, embeddings), and the same weights are then written as the ONNX graph
/// Pronto serves. Matrix products run on all cores; each output row belongs to one thread and is summed in a fixed
/// order, so a seed gives the same weights on every run.
/// Why not TorchSharp: 0.107.0, the one version NuGet serves here, loads a libLibTorchSharp.so that needs
/// GLIBCXX_3.4.32 (GCC 13), and Debian 12 ships 3.4.30; the model is small enough that this is a few hundred lines.
/// </summary>
public sealed class DecoderTrainer
{
    private const float Beta1 = 0.9f;
    private const float Beta2 = 0.95f;
    private const float AdamEpsilon = 1e-8f;
    private const float ClipNorm = 1f;

    private readonly DecoderWeights _w;
    private readonly DecoderWeights _g;
    private readonly float[][] _parameters;
    private readonly float[][] _gradients;
    private readonly float[][] _moment1;
    private readonly float[][] _moment2;
    private int _steps;
    private Activations? _act;

    public DecoderTrainer(DecoderWeights weights)
    {
        if (!weights.Dims.LayerNorm)
        {
            throw new ArgumentException("the trainer trains decoders with layer norms", nameof(weights));
        }

        _w = weights;
        _g = new DecoderWeights(weights.Dims);
        _parameters = [.. _w.All()];
        _gradients = [.. _g.All()];
        _moment1 = [.. _parameters.Select(p => new float[p.Length])];
        _moment2 = [.. _parameters.Select(p => new float[p.Length])];
    }

    public DecoderWeights Weights => _w;

    /// <summary>GPT-2's initialization: N(0, 0.02), residual projections scaled by 1 / sqrt(2 x layers), norms 1 and 0.</summary>
    public static DecoderWeights Initialize(DecoderDims dims, ulong seed)
    {
        var w = new DecoderWeights(dims);
        var random = new SplitMix64(seed);
        void Normal(float[] values, double std)
        {
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (float)(random.NextGaussian() * std);
            }
        }

        var residual = 0.02 / Math.Sqrt(2 * dims.Layers);
        Normal(w.Embed, 0.02);
        Normal(w.Positions, 0.02);
        foreach (var l in w.Layers)
        {
            Normal(l.Query, 0.02);
            Normal(l.Key, 0.02);
            Normal(l.Value, 0.02);
            Normal(l.Output, residual);
            Normal(l.Up, 0.02);
            Normal(l.Down, residual);
        }

        Normal(w.Head, 0.02);
        return w;
    }

    /// <summary>One Adam step on <paramref name="batch"/> at <paramref name="learningRate"/>; returns the batch's mean loss before the step.</summary>
    public double Step(IReadOnlyList<TrainingSequence> batch, float learningRate)
    {
        var loss = Forward(batch, backward: true);
        Clip();
        Adam(learningRate);
        return loss;
    }

    /// <summary>The mean loss of <paramref name="batch"/> (no update).</summary>
    public double Loss(IReadOnlyList<TrainingSequence> batch) => Forward(batch, backward: false);

    /// <summary>The gradient of the mean loss of <paramref name="batch"/>, in the same layout as the weights (no update).</summary>
    public DecoderWeights Gradient(IReadOnlyList<TrainingSequence> batch)
    {
        Forward(batch, backward: true);
        return _g;
    }

    /// <summary>The logits [tokens, vocab] the decoder gives for <paramref name="tokens"/> (all positions).</summary>
    public float[] Logits(int[] tokens)
    {
        Forward([new TrainingSequence([.. tokens, 0], tokens.Length)], backward: false);
        var act = _act!;
        return act.Logits.AsSpan(0, tokens.Length * _w.Dims.Vocab).ToArray();
    }

    private sealed class LayerActivations(int n, int c, int f, int attention)
    {
        public float[] Hat1 { get; } = new float[n * c];
        public float[] Rstd1 { get; } = new float[n];
        public float[] H1 { get; } = new float[n * c];
        public float[] Q { get; } = new float[n * c];
        public float[] K { get; } = new float[n * c];
        public float[] V { get; } = new float[n * c];
        public float[] P { get; } = new float[attention];
        public float[] A { get; } = new float[n * c];
        public float[] Hat2 { get; } = new float[n * c];
        public float[] Rstd2 { get; } = new float[n];
        public float[] H2 { get; } = new float[n * c];
        public float[] U { get; } = new float[n * f];
        public float[] R { get; } = new float[n * f];
    }

    private sealed class Activations
    {
        public Activations(DecoderDims d, int rows, int batch, int length)
        {
            Rows = rows;
            Length = length;
            Layers = [.. Enumerable.Range(0, d.Layers).Select(_ => new LayerActivations(rows, d.Hidden, d.MlpWidth, batch * d.Heads * length * length))];
            X = new float[rows * d.Hidden];
            HatF = new float[rows * d.Hidden];
            RstdF = new float[rows];
            HF = new float[rows * d.Hidden];
            Logits = new float[rows * d.Vocab];
            Dx = new float[rows * d.Hidden];
            Dh = new float[rows * d.Hidden];
            Dq = new float[rows * d.Hidden];
            Dk = new float[rows * d.Hidden];
            Dv = new float[rows * d.Hidden];
            Df = new float[rows * d.MlpWidth];
            Tokens = new int[rows];
            Targets = new int[rows];
            LossWeights = new float[rows];
        }

        public int Rows { get; }
        public int Length { get; }
        public LayerActivations[] Layers { get; }
        public float[] X { get; }
        public float[] HatF { get; }
        public float[] RstdF { get; }
        public float[] HF { get; }
        public float[] Logits { get; }
        public float[] Dx { get; }
        public float[] Dh { get; }
        public float[] Dq { get; }
        public float[] Dk { get; }
        public float[] Dv { get; }
        public float[] Df { get; }
        public int[] Tokens { get; }
        public int[] Targets { get; }
        public float[] LossWeights { get; }
    }

    private double Forward(IReadOnlyList<TrainingSequence> batch, bool backward)
    {
        var d = _w.Dims;
        var (c, f, vocab, heads, hd) = (d.Hidden, d.MlpWidth, d.Vocab, d.Heads, d.HeadDim);
        var length = batch.Max(s => s.Tokens.Length) - 1;
        if (length < 1 || length > d.ContextLength)
        {
            throw new ArgumentException($"sequences must have 2 to {d.ContextLength + 1} tokens", nameof(batch));
        }

        var b = batch.Count;
        var n = b * length;
        if (_act is null || _act.Rows != n || _act.Length != length)
        {
            _act = new Activations(d, n, b, length);
        }

        var act = _act;
        float weightSum = 0;
        for (var s = 0; s < b; s++)
        {
            var tokens = batch[s].Tokens;
            for (var t = 0; t < length; t++)
            {
                var row = (s * length) + t;
                var real = t + 1 < tokens.Length;
                act.Tokens[row] = real ? tokens[t] : 0;
                act.Targets[row] = real ? tokens[t + 1] : 0;
                act.LossWeights[row] = real && t + 1 >= batch[s].LossFrom ? 1f : 0f;
                weightSum += act.LossWeights[row];
            }
        }

        if (weightSum == 0)
        {
            throw new ArgumentException("no token of the batch counts in the loss", nameof(batch));
        }

        var x = act.X;
        for (var row = 0; row < n; row++)
        {
            var t = row % length;
            var dst = x.AsSpan(row * c, c);
            _w.Embed.AsSpan(act.Tokens[row] * c, c).CopyTo(dst);
            Add(_w.Positions.AsSpan(t * c, c), dst);
        }

        // x is updated in place through the layers; each layer keeps what its backward pass needs.
        for (var i = 0; i < d.Layers; i++)
        {
            var (w, a) = (_w.Layers[i], act.Layers[i]);
            NormForward(x, n, c, w.Ln1Gain, w.Ln1Bias, a.Hat1, a.Rstd1, a.H1);
            Gemm.Multiply(a.H1, n, c, w.Query, c, a.Q);
            Gemm.Multiply(a.H1, n, c, w.Key, c, a.K);
            Gemm.Multiply(a.H1, n, c, w.Value, c, a.V);
            AttentionForward(a, b, length, heads, hd);
            Gemm.Multiply(a.A, n, c, w.Output, c, act.Dh);
            Add(act.Dh, x);
            NormForward(x, n, c, w.Ln2Gain, w.Ln2Bias, a.Hat2, a.Rstd2, a.H2);
            Gemm.Multiply(a.H2, n, c, w.Up, f, a.U);
            for (var k = 0; k < n * f; k++)
            {
                a.R[k] = MathF.Max(a.U[k], 0f);
            }

            Gemm.Multiply(a.R, n, f, w.Down, c, act.Dh);
            Add(act.Dh, x);
        }

        NormForward(x, n, c, _w.FinalGain, _w.FinalBias, act.HatF, act.RstdF, act.HF);
        Gemm.Multiply(act.HF, n, c, _w.Head, vocab, act.Logits);

        // Cross-entropy; the logits become d loss / d logits in place when training.
        double loss = 0;
        var scale = 1f / weightSum;
        for (var row = 0; row < n; row++)
        {
            var logits = act.Logits.AsSpan(row * vocab, vocab);
            var weight = act.LossWeights[row];
            if (weight == 0)
            {
                if (backward)
                {
                    logits.Clear();
                }

                continue;
            }

            var logSum = Core.Generation.LogitMath.LogSumExp(logits);
            loss += (logSum - logits[act.Targets[row]]) * weight;
            if (backward)
            {
                for (var k = 0; k < vocab; k++)
                {
                    logits[k] = (float)Math.Exp(logits[k] - logSum) * weight * scale;
                }

                logits[act.Targets[row]] -= weight * scale;
            }
        }

        if (backward)
        {
            Backward(act, b, length);
        }

        return loss / weightSum;
    }

    private void Backward(Activations act, int b, int length)
    {
        var d = _w.Dims;
        var (c, f, vocab, heads, hd) = (d.Hidden, d.MlpWidth, d.Vocab, d.Heads, d.HeadDim);
        var n = act.Rows;
        foreach (var g in _gradients)
        {
            Array.Clear(g);
        }

        var dx = act.Dx;
        Gemm.MultiplyTransposedLeft(act.HF, n, c, act.Logits, vocab, _g.Head);
        Gemm.MultiplyTransposedRight(act.Logits, n, vocab, _w.Head, c, act.Dh);
        NormBackward(act.Dh, n, c, _w.FinalGain, act.HatF, act.RstdF, dx, _g.FinalGain, _g.FinalBias, accumulate: false);

        for (var i = d.Layers - 1; i >= 0; i--)
        {
            var (w, g, a) = (_w.Layers[i], _g.Layers[i], act.Layers[i]);

            // x_out = x_mid + relu(ln2(x_mid) W1) W2
            Gemm.MultiplyTransposedLeft(a.R, n, f, dx, c, g.Down);
            Gemm.MultiplyTransposedRight(dx, n, c, w.Down, f, act.Df);
            for (var k = 0; k < n * f; k++)
            {
                if (a.U[k] <= 0)
                {
                    act.Df[k] = 0;
                }
            }

            Gemm.MultiplyTransposedLeft(a.H2, n, c, act.Df, f, g.Up);
            Gemm.MultiplyTransposedRight(act.Df, n, f, w.Up, c, act.Dh);
            NormBackward(act.Dh, n, c, w.Ln2Gain, a.Hat2, a.Rstd2, dx, g.Ln2Gain, g.Ln2Bias, accumulate: true);

            // x_mid = x_in + attention(ln1(x_in)) Wo
            Gemm.MultiplyTransposedLeft(a.A, n, c, dx, c, g.Output);
            Gemm.MultiplyTransposedRight(dx, n, c, w.Output, c, act.Dh);
            AttentionBackward(a, act.Dh, act.Dq, act.Dk, act.Dv, b, length, heads, hd);
            Gemm.MultiplyTransposedLeft(a.H1, n, c, act.Dq, c, g.Query);
            Gemm.MultiplyTransposedLeft(a.H1, n, c, act.Dk, c, g.Key);
            Gemm.MultiplyTransposedLeft(a.H1, n, c, act.Dv, c, g.Value);
            Gemm.MultiplyTransposedRight(act.Dq, n, c, w.Query, c, act.Dh);
            Gemm.MultiplyTransposedRight(act.Dk, n, c, w.Key, c, act.Dh, accumulate: true);
            Gemm.MultiplyTransposedRight(act.Dv, n, c, w.Value, c, act.Dh, accumulate: true);
            NormBackward(act.Dh, n, c, w.Ln1Gain, a.Hat1, a.Rstd1, dx, g.Ln1Gain, g.Ln1Bias, accumulate: true);
        }

        for (var row = 0; row < n; row++)
        {
            var grad = dx.AsSpan(row * c, c);
            Add(grad, _g.Embed.AsSpan(act.Tokens[row] * c, c));
            Add(grad, _g.Positions.AsSpan(row % length * c, c));
        }
    }

    private static void NormForward(float[] x, int n, int c, float[] gain, float[] bias, float[] hat, float[] rstd, float[] y) =>
        Parallel.For(0, Chunks(n), chunk =>
        {
            var (from, to) = Chunk(chunk, n);
            for (var row = from; row < to; row++)
            {
                var xs = x.AsSpan(row * c, c);
                float mean = 0;
                foreach (var v in xs)
                {
                    mean += v;
                }

                mean /= c;
                float variance = 0;
                foreach (var v in xs)
                {
                    variance += (v - mean) * (v - mean);
                }

                var r = 1f / MathF.Sqrt((variance / c) + DecoderWeights.NormEpsilon);
                rstd[row] = r;
                var hs = hat.AsSpan(row * c, c);
                var ys = y.AsSpan(row * c, c);
                for (var k = 0; k < c; k++)
                {
                    hs[k] = (xs[k] - mean) * r;
                    ys[k] = (hs[k] * gain[k]) + bias[k];
                }
            }
        });

    /// <summary>dx (+)= the norm's input gradient for output gradient dy; the gain and bias gradients accumulate.</summary>
    private static void NormBackward(float[] dy, int n, int c, float[] gain, float[] hat, float[] rstd, float[] dx, float[] dGain, float[] dBias, bool accumulate)
    {
        for (var row = 0; row < n; row++)
        {
            for (var k = 0; k < c; k++)
            {
                dGain[k] += dy[(row * c) + k] * hat[(row * c) + k];
                dBias[k] += dy[(row * c) + k];
            }
        }

        Parallel.For(0, Chunks(n), chunk =>
        {
            var (from, to) = Chunk(chunk, n);
            for (var row = from; row < to; row++)
            {
                var dys = dy.AsSpan(row * c, c);
                var hs = hat.AsSpan(row * c, c);
                float mean = 0, meanHat = 0;
                for (var k = 0; k < c; k++)
                {
                    var dh = dys[k] * gain[k];
                    mean += dh;
                    meanHat += dh * hs[k];
                }

                mean /= c;
                meanHat /= c;
                var dxs = dx.AsSpan(row * c, c);
                for (var k = 0; k < c; k++)
                {
                    var value = rstd[row] * ((dys[k] * gain[k]) - mean - (hs[k] * meanHat));
                    dxs[k] = accumulate ? dxs[k] + value : value;
                }
            }
        });
    }

    private static void AttentionForward(LayerActivations a, int b, int length, int heads, int hd)
    {
        var c = heads * hd;
        var scale = 1f / MathF.Sqrt(hd);
        Parallel.For(0, b * heads, pair =>
        {
            var (s, h) = (pair / heads, pair % heads);
            var probs = a.P.AsSpan(pair * length * length, length * length);
            for (var t1 = 0; t1 < length; t1++)
            {
                var q = a.Q.AsSpan(((s * length) + t1) * c + (h * hd), hd);
                var row = probs.Slice(t1 * length, length);
                var max = float.NegativeInfinity;
                for (var t2 = 0; t2 <= t1; t2++)
                {
                    row[t2] = Dot(q, a.K.AsSpan(((s * length) + t2) * c + (h * hd), hd)) * scale;
                    max = MathF.Max(max, row[t2]);
                }

                float sum = 0;
                for (var t2 = 0; t2 <= t1; t2++)
                {
                    row[t2] = MathF.Exp(row[t2] - max);
                    sum += row[t2];
                }

                var output = a.A.AsSpan(((s * length) + t1) * c + (h * hd), hd);
                output.Clear();
                for (var t2 = 0; t2 <= t1; t2++)
                {
                    row[t2] /= sum;
                    Axpy(row[t2], a.V.AsSpan(((s * length) + t2) * c + (h * hd), hd), output);
                }

                row[(t1 + 1)..].Clear();
            }
        });
    }

    private static void AttentionBackward(LayerActivations a, float[] da, float[] dq, float[] dk, float[] dv, int b, int length, int heads, int hd)
    {
        var c = heads * hd;
        var scale = 1f / MathF.Sqrt(hd);
        Parallel.For(0, b * heads, pair =>
        {
            var (s, h) = (pair / heads, pair % heads);
            var probs = a.P.AsSpan(pair * length * length, length * length);
            Span<float> dp = stackalloc float[length];
            for (var t = 0; t < length; t++)
            {
                dq.AsSpan(((s * length) + t) * c + (h * hd), hd).Clear();
                dk.AsSpan(((s * length) + t) * c + (h * hd), hd).Clear();
                dv.AsSpan(((s * length) + t) * c + (h * hd), hd).Clear();
            }

            for (var t1 = 0; t1 < length; t1++)
            {
                var row = probs.Slice(t1 * length, t1 + 1);
                var dOut = da.AsSpan(((s * length) + t1) * c + (h * hd), hd);
                float weighted = 0;
                for (var t2 = 0; t2 <= t1; t2++)
                {
                    Axpy(row[t2], dOut, dv.AsSpan(((s * length) + t2) * c + (h * hd), hd));
                    dp[t2] = Dot(dOut, a.V.AsSpan(((s * length) + t2) * c + (h * hd), hd));
                    weighted += dp[t2] * row[t2];
                }

                var dqRow = dq.AsSpan(((s * length) + t1) * c + (h * hd), hd);
                var q = a.Q.AsSpan(((s * length) + t1) * c + (h * hd), hd);
                for (var t2 = 0; t2 <= t1; t2++)
                {
                    var ds = row[t2] * (dp[t2] - weighted) * scale;
                    Axpy(ds, a.K.AsSpan(((s * length) + t2) * c + (h * hd), hd), dqRow);
                    Axpy(ds, q, dk.AsSpan(((s * length) + t2) * c + (h * hd), hd));
                }
            }
        });
    }

    private void Clip()
    {
        double squares = 0;
        foreach (var g in _gradients)
        {
            foreach (var v in g)
            {
                squares += (double)v * v;
            }
        }

        var norm = Math.Sqrt(squares);
        if (norm > ClipNorm)
        {
            var factor = (float)(ClipNorm / norm);
            foreach (var g in _gradients)
            {
                for (var i = 0; i < g.Length; i++)
                {
                    g[i] *= factor;
                }
            }
        }
    }

    private void Adam(float learningRate)
    {
        _steps++;
        var correction1 = 1 - MathF.Pow(Beta1, _steps);
        var correction2 = 1 - MathF.Pow(Beta2, _steps);
        for (var p = 0; p < _parameters.Length; p++)
        {
            var (w, g, m, v) = (_parameters[p], _gradients[p], _moment1[p], _moment2[p]);
            for (var i = 0; i < w.Length; i++)
            {
                m[i] = (Beta1 * m[i]) + ((1 - Beta1) * g[i]);
                v[i] = (Beta2 * v[i]) + ((1 - Beta2) * g[i] * g[i]);
                w[i] -= learningRate * (m[i] / correction1) / (MathF.Sqrt(v[i] / correction2) + AdamEpsilon);
            }
        }
    }

    private static int Chunks(int rows) => Math.Max(1, Math.Min(rows / 16, Environment.ProcessorCount * 4));

    private static (int From, int To) Chunk(int chunk, int rows)
    {
        var count = Chunks(rows);
        return ((int)((long)rows * chunk / count), (int)((long)rows * (chunk + 1) / count));
    }

    private static void Add(ReadOnlySpan<float> source, Span<float> destination) =>
        System.Numerics.Tensors.TensorPrimitives.Add(source, destination, destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y) => System.Numerics.Tensors.TensorPrimitives.Dot(x, y);

    /// <summary>y += a x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var va = new Vector<float>(a);
            var xs = MemoryMarshal.Cast<float, Vector<float>>(x);
            var ys = MemoryMarshal.Cast<float, Vector<float>>(y);
            for (var k = 0; k < xs.Length; k++)
            {
                ys[k] += va * xs[k];
            }

            i = xs.Length * Vector<float>.Count;
        }

        for (; i < x.Length; i++)
        {
            y[i] += a * x[i];
        }
    }

    /// <summary>Row-major matrix products on all cores; each output row is one thread's, summed in a fixed order.</summary>
    private static class Gemm
    {
        private const int Block = 64;

        /// <summary>c[rows, cols] = a[rows, inner] b[inner, cols].</summary>
        public static void Multiply(float[] a, int rows, int inner, float[] b, int cols, float[] c, bool accumulate = false)
        {
            Parallel.For(0, Chunks(rows), chunk =>
            {
                var (from, to) = Chunk(chunk, rows);
                if (!accumulate)
                {
                    c.AsSpan(from * cols, (to - from) * cols).Clear();
                }

                for (var k0 = 0; k0 < inner; k0 += Block)
                {
                    var k1 = Math.Min(inner, k0 + Block);
                    for (var r = from; r < to; r++)
                    {
                        var output = c.AsSpan(r * cols, cols);
                        for (var k = k0; k < k1; k++)
                        {
                            var value = a[(r * inner) + k];
                            if (value != 0)
                            {
                                Axpy(value, b.AsSpan(k * cols, cols), output);
                            }
                        }
                    }
                }
            });
        }

        /// <summary>c[inner, cols] += a[rows, inner]^T d[rows, cols]: a weight's gradient.</summary>
        public static void MultiplyTransposedLeft(float[] a, int rows, int inner, float[] d, int cols, float[] c) =>
            Multiply(Transpose(a, rows, inner), inner, rows, d, cols, c, accumulate: true);

        /// <summary>c[rows, inner] (+)= d[rows, cols] b[inner, cols]^T: an input's gradient.</summary>
        public static void MultiplyTransposedRight(float[] d, int rows, int cols, float[] b, int inner, float[] c, bool accumulate = false) =>
            Multiply(d, rows, cols, Transpose(b, inner, cols), inner, c, accumulate);

        private static float[] Transpose(float[] m, int rows, int cols)
        {
            var t = new float[rows * cols];
            for (var r = 0; r < rows; r++)
            {
                for (var k = 0; k < cols; k++)
                {
                    t[(k * rows) + r] = m[(r * cols) + k];
                }
            }

            return t;
        }
    }
}
