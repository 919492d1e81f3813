using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;

namespace Pronto.Core.Inference;

/// <summary>
/// Triton's response cache: the outputs of requests to models whose config has <c>response_cache { enable: true }</c>,
/// keyed by the model's load (so its name and version, and never an earlier load's results after a reload) and the
/// request's bytes: every input's name, datatype, shape and data, the outputs asked for (name, classification; none
/// asked is the model's default outputs; how an output travels, binary or JSON, is not part of the result) and
/// the request parameters that can change the result. Bounded by <see cref="CapacityBytes"/> over every model, least
/// recently used evicted first. One per repository; a load's entries go when its engine is disposed (unload, reload).
/// </summary>
/// <remarks>
/// Ownership: an entry holds copies of the outputs in arrays of its own, so a hit's tensors depend on no request's or
/// engine's memory; tensors are immutable, so every hit shares them. Keys are the full request bytes compared exactly,
/// not a hash: two different requests never share an entry. A hit is answered before preparation and validation: a
/// request is only cached after it succeeded, and the same bytes succeed the same way.
/// </remarks>
public sealed class ResponseCache
{
    /// <summary>The default bound: 64 MiB of keys and outputs.</summary>
    public const long DefaultCapacityBytes = 64L * 1024 * 1024;

    // What an entry costs beyond its key and output bytes (list node, dictionary slot, tensor objects): an estimate,
    // so a budget of many tiny entries is not overrun by their bookkeeping.
    private const int EntryOverheadBytes = 160;
    private const int TensorOverheadBytes = 96;

    // Request parameters that decide how or when a request runs, never what it returns; every other parameter is in the key.
    private static readonly HashSet<string> SchedulingParameters = new(StringComparer.Ordinal) { "priority", "timeout", "binary_data_output", "keep_alive" };

    private readonly Lock _gate = new();
    private readonly Dictionary<Key, LinkedListNode<Entry>> _entries = new(KeyComparer.Instance);

    // Most recently used first.
    private readonly LinkedList<Entry> _recency = new();
    private long _sizeBytes;
    private long _evictions;

    /// <param name="capacityBytes">Bytes of keys and outputs the cache may hold; 0 turns it off.</param>
    public ResponseCache(long capacityBytes = DefaultCapacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        CapacityBytes = capacityBytes;
    }

    public long CapacityBytes { get; }

    /// <summary>Bytes the entries take now (keys, outputs and an estimate of their bookkeeping).</summary>
    public long SizeBytes
    {
        get
        {
            lock (_gate)
            {
                return _sizeBytes;
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Entries evicted to make room, since the cache was made.</summary>
    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>The key of <paramref name="request"/> to <paramref name="model"/>: its bytes, which are compared exactly.</summary>
    internal static Key KeyOf(ServedModel model, InferenceRequest request)
    {
        // No outputs asked means the default ones: the same key as asking for them by name.
        var outputs = request.Outputs.Count > 0 ? request.Outputs : InferenceService.DefaultOutputs(model);
        var bytes = new KeyWriter(Measure(request, outputs));
        bytes.Write(request.Inputs.Count);
        foreach (var input in request.Inputs)
        {
            bytes.Write(input.Name);
            var tensor = input.Tensor;
            bytes.Write((int)tensor.DataType);
            bytes.Write(tensor.Rank);
            foreach (var d in tensor.Shape)
            {
                bytes.Write(d);
            }

            if (tensor.DataType == DataType.Bytes)
            {
                foreach (var s in tensor.Strings)
                {
                    bytes.Write(s.Span);
                }
            }
            else
            {
                bytes.Write(tensor.Data.Span);
            }
        }

        bytes.Write(outputs.Count);
        foreach (var output in outputs)
        {
            bytes.Write(output.Name);
            bytes.Write(output.Classification);
        }

        foreach (var (name, value) in SortedParameters(request))
        {
            bytes.Write(name);
            bytes.Write(ParameterText(value));
        }

        return new Key(model, bytes.Buffer);
    }

    /// <summary>The cached outputs of <paramref name="key"/>, and marks it most recently used.</summary>
    internal bool TryGet(Key key, out IReadOnlyList<NamedTensor> outputs)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                outputs = node.Value.Outputs;
                return true;
            }
        }

        outputs = [];
        return false;
    }

    /// <summary>
    /// Keeps a copy of <paramref name="outputs"/> under <paramref name="key"/>, evicting the least recently used entries
    /// until it fits; an entry larger than the whole cache is not kept.
    /// </summary>
    internal void Add(Key key, IReadOnlyList<NamedTensor> outputs)
    {
        var size = EntryOverheadBytes + (long)key.Bytes.Length;
        foreach (var output in outputs)
        {
            size += TensorOverheadBytes + (2 * output.Name.Length) + output.Tensor.ByteSize + (8L * output.Tensor.Strings.Count);
        }

        if (size > CapacityBytes)
        {
            return;
        }

        var copies = Copy(outputs);
        lock (_gate)
        {
            if (_entries.ContainsKey(key))
            {
                // Two identical requests missed at once; the first to finish filled the entry.
                return;
            }

            while (_sizeBytes + size > CapacityBytes && _recency.Last is { } oldest)
            {
                RemoveLocked(oldest);
                _evictions++;
            }

            var node = _recency.AddFirst(new Entry(key, copies, size));
            _entries.Add(key, node);
            _sizeBytes += size;
        }
    }

    /// <summary>Drops every entry of <paramref name="model"/>'s load (its engine is going away).</summary>
    internal void Remove(ServedModel model)
    {
        lock (_gate)
        {
            var node = _recency.First;
            while (node is not null)
            {
                var next = node.Next;
                if (ReferenceEquals(node.Value.Key.Model, model))
                {
                    RemoveLocked(node);
                }

                node = next;
            }
        }
    }

    private void RemoveLocked(LinkedListNode<Entry> node)
    {
        _recency.Remove(node);
        _entries.Remove(node.Value.Key);
        _sizeBytes -= node.Value.Size;
    }

    private static NamedTensor[] Copy(IReadOnlyList<NamedTensor> outputs)
    {
        var copies = new NamedTensor[outputs.Count];
        for (var i = 0; i < copies.Length; i++)
        {
            var t = outputs[i].Tensor;
            Tensor copy;
            if (t.DataType == DataType.Bytes)
            {
                var strings = new ReadOnlyMemory<byte>[t.Strings.Count];
                for (var j = 0; j < strings.Length; j++)
                {
                    strings[j] = t.Strings[j].ToArray();
                }

                copy = Tensor.FromStrings(strings, [.. t.Shape]);
            }
            else
            {
                copy = Tensor.FromBytes(t.DataType, t.Data.ToArray(), [.. t.Shape]);
            }

            copies[i] = new NamedTensor(outputs[i].Name, copy);
        }

        return copies;
    }

    private static List<KeyValuePair<string, object>> SortedParameters(InferenceRequest request)
    {
        var list = new List<KeyValuePair<string, object>>();
        foreach (var p in request.Parameters)
        {
            if (!SchedulingParameters.Contains(p.Key))
            {
                list.Add(p);
            }
        }

        list.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return list;
    }

    // The type is part of the text, so 1 (an integer) and "1" (a string) differ.
    private static string ParameterText(object value) => value switch
    {
        bool b => b ? "b:1" : "b:0",
        string s => "s:" + s,
        double d => "d:" + d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => value.GetType().Name + ":" + f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.GetType().Name + ":" + value,
    };

    private static int Measure(InferenceRequest request, IReadOnlyList<RequestedOutput> outputs)
    {
        long size = 4;
        foreach (var input in request.Inputs)
        {
            var tensor = input.Tensor;
            size += KeyWriter.SizeOf(input.Name) + 8 + (8L * tensor.Rank);
            if (tensor.DataType == DataType.Bytes)
            {
                foreach (var s in tensor.Strings)
                {
                    size += 4 + s.Length;
                }
            }
            else
            {
                size += 4 + tensor.Data.Length;
            }
        }

        size += 4;
        foreach (var output in outputs)
        {
            size += KeyWriter.SizeOf(output.Name) + 4;
        }

        foreach (var (name, value) in SortedParameters(request))
        {
            size += KeyWriter.SizeOf(name) + KeyWriter.SizeOf(ParameterText(value));
        }

        // Larger than an array can be: no request the server accepts gets near (bodies are capped far below).
        return checked((int)size);
    }

    /// <summary>A request's key: the model load it went to and its bytes.</summary>
    internal readonly struct Key(ServedModel model, byte[] bytes)
    {
        public ServedModel Model { get; } = model;

        public byte[] Bytes { get; } = bytes;

        public int Hash { get; } = HashOf(model, bytes);

        private static int HashOf(ServedModel model, byte[] bytes)
        {
            var hash = default(HashCode);
            hash.Add(model);
            hash.AddBytes(bytes);
            return hash.ToHashCode();
        }
    }

    private sealed record Entry(Key Key, NamedTensor[] Outputs, long Size);

    private sealed class KeyComparer : IEqualityComparer<Key>
    {
        public static readonly KeyComparer Instance = new();

        public bool Equals(Key x, Key y) => ReferenceEquals(x.Model, y.Model) && x.Hash == y.Hash && x.Bytes.AsSpan().SequenceEqual(y.Bytes);

        public int GetHashCode(Key key) => key.Hash;
    }

    /// <summary>Length-prefixed fields into an array of the measured size.</summary>
    private struct KeyWriter(int size)
    {
        private int _position;

        public byte[] Buffer { get; } = new byte[size];

        public static int SizeOf(string text) => 4 + Encoding.UTF8.GetByteCount(text);

        public void Write(int value)
        {
            BinaryPrimitives.WriteInt32LittleEndian(Buffer.AsSpan(_position), value);
            _position += 4;
        }

        public void Write(long value)
        {
            BinaryPrimitives.WriteInt64LittleEndian(Buffer.AsSpan(_position), value);
            _position += 8;
        }

        public void Write(ReadOnlySpan<byte> bytes)
        {
            Write(bytes.Length);
            bytes.CopyTo(Buffer.AsSpan(_position));
            _position += bytes.Length;
        }

        public void Write(string text)
        {
            var n = Encoding.UTF8.GetBytes(text, Buffer.AsSpan(_position + 4));
            Write(n);
            _position += n;
        }
    }
}
