// Renders the throughput-by-configuration bar chart as SVG. Hand-written because it is a dozen lines of
// markup and adding a charting library (with a headless renderer) for one bar chart would outweigh it.

export interface Bar {
  label: string;
  value: number;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}

export function barChartSvg(title: string, unit: string, bars: Bar[]): string {
  const width = 760;
  const rowHeight = 34;
  const labelWidth = 250;
  const top = 48;
  const height = top + bars.length * rowHeight + 24;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const plotWidth = width - labelWidth - 130;
  const rows = bars
    .map((b, i) => {
      const y = top + i * rowHeight;
      const w = Math.max(1, Math.round((b.value / max) * plotWidth));
      const value = b.value >= 1000 ? `${Math.round(b.value).toLocaleString('en-US')}` : b.value.toFixed(2);
      return [
        `<text x="${labelWidth - 8}" y="${y + 20}" text-anchor="end" font-size="13">${escapeXml(b.label)}</text>`,
        `<rect x="${labelWidth}" y="${y + 6}" width="${w}" height="${rowHeight - 12}" fill="#3b7dd8" rx="3"/>`,
        `<text x="${labelWidth + w + 6}" y="${y + 20}" font-size="12">${value} ${escapeXml(unit)}</text>`,
      ].join('');
    })
    .join('\n  ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
  <rect width="100%" height="100%" fill="white"/>
  <text x="16" y="28" font-size="16" font-weight="bold">${escapeXml(title)}</text>
  ${rows}
</svg>
`;
}
