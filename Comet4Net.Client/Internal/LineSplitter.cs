using System.Text;

namespace Comet4Net.Client.Internal;

/// <summary>Splits bytes into lines at <c>\n</c> (a trailing <c>\r</c> removed), keeping an unfinished last line for the next bytes.</summary>
internal sealed class LineSplitter
{
    private byte[] _pending = new byte[4096];
    private int _count;

    internal void Push(ReadOnlySpan<byte> data, List<string> lines)
    {
        while (!data.IsEmpty)
        {
            var newline = data.IndexOf((byte)'\n');
            if (newline < 0)
            {
                Append(data);
                return;
            }
            Append(data[..newline]);
            var line = _pending.AsSpan(0, _count);
            if (!line.IsEmpty && line[^1] == (byte)'\r') line = line[..^1];
            lines.Add(Encoding.UTF8.GetString(line));
            _count = 0;
            data = data[(newline + 1)..];
        }
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        if (_count + data.Length > _pending.Length) Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _count + data.Length));
        data.CopyTo(_pending.AsSpan(_count));
        _count += data.Length;
    }
}
