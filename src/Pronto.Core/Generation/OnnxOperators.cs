using System.Text;

namespace Pronto.Core.Generation;

/// <summary>
/// Reads the operator types of an ONNX model's graph nodes straight from the file's protobuf (ModelProto.graph = field
/// 7, GraphProto.node = field 1, NodeProto.op_type = field 4), seeking past everything else (the initializers), so a
/// large model costs a few reads. Pronto.Core has no ONNX schema and the backend's session does not list its nodes.
/// </summary>
public static class OnnxOperators
{
    /// <summary>Whether a node of the model's top-level graph has operator type <paramref name="opType"/>; false for a file it cannot read.</summary>
    public static bool Uses(string modelPath, string opType)
    {
        try
        {
            using var file = new FileStream(modelPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            return Scan(file, file.Length, opType, depth: 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or EndOfStreamException or InvalidDataException)
        {
            return false;
        }
    }

    /// <summary>Fields of one message up to <paramref name="end"/>: the model's graph (depth 0), the graph's nodes (depth 1).</summary>
    private static bool Scan(Stream file, long end, string opType, int depth)
    {
        while (file.Position < end)
        {
            var tag = ReadVarint(file);
            var (field, wire) = ((int)(tag >> 3), (int)(tag & 7));
            switch (wire)
            {
                case 0:
                    ReadVarint(file);
                    break;
                case 1:
                    file.Seek(8, SeekOrigin.Current);
                    break;
                case 5:
                    file.Seek(4, SeekOrigin.Current);
                    break;
                case 2:
                    var length = (long)ReadVarint(file);
                    var next = file.Position + length;
                    if (depth == 0 && field == 7 && Scan(file, next, opType, 1))
                    {
                        return true;
                    }

                    if (depth == 1 && field == 1 && NodeOpType(file, length) == opType)
                    {
                        return true;
                    }

                    file.Position = next;
                    break;
                default:
                    throw new InvalidDataException($"wire type {wire} at {file.Position}");
            }
        }

        return false;
    }

    /// <summary>A node's op_type (field 4), read from its bytes with the same field walk.</summary>
    private static string? NodeOpType(Stream file, long length)
    {
        var node = new byte[length];
        file.ReadExactly(node);
        using var bytes = new MemoryStream(node, writable: false);
        while (bytes.Position < bytes.Length)
        {
            var tag = ReadVarint(bytes);
            var (field, wire) = ((int)(tag >> 3), (int)(tag & 7));
            long skip;
            switch (wire)
            {
                case 0:
                    ReadVarint(bytes);
                    skip = 0;
                    break;
                case 1:
                    skip = 8;
                    break;
                case 5:
                    skip = 4;
                    break;
                case 2:
                    skip = (long)ReadVarint(bytes);
                    break;
                default:
                    throw new InvalidDataException($"wire type {wire} in a node");
            }

            if (wire == 2 && field == 4)
            {
                return Encoding.UTF8.GetString(node, (int)bytes.Position, (int)skip);
            }

            bytes.Position += skip;
        }

        return null;
    }

    private static ulong ReadVarint(Stream file)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = file.ReadByte();
            if (b < 0)
            {
                throw new EndOfStreamException();
            }

            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new InvalidDataException("a varint longer than 10 bytes");
    }
}
