// The screening evidence the server writes in English (protection/screening.py and
// classification.py, e.g. "latest visit found living_alone"), said in the console's language.
// Each known sentence pattern has its Chinese form; the codes inside go through the code book.

import { code, lang } from "./index";

const ROLE: Record<string, string> = { father: "父亲", mother: "母亲", parent: "父母", guardian: "监护人" };
const who = (r: string): string => ROLE[r] ?? code("role", r);
const codes = (list: string, group: string): string =>
  list
    .split(/,\s*/)
    .map((c) => code(group, c.trim()))
    .join("、");

const PATTERNS: [RegExp, (...m: string[]) => string][] = [
  [/^latest visit found (.+)$/, (l) => `最近一次走访发现：${codes(l, "finding")}`],
  [/^guardian aged (\d+) \(≥ (\d+)\)$/, (a, b) => `监护人 ${a} 岁（≥ ${b}）`],
  [/^guardian diagnosed (.+)$/, (c) => `监护人确诊 ${c}`],
  [/^guardian responsible for (\d+) children \(≥ (\d+)\)$/, (a, b) => `监护人照料 ${a} 名儿童（≥ ${b}）`],
  [/^guardian lacks guardianship capacity.*$/, () => "监护人无监护能力"],
  [/^dropout registered.*$/, () => "登记辍学"],
  [/^enrolment status dropout$/, () => "学籍状态：辍学"],
  [/^age (\d+) on (\d{4}-\d{2}-\d{2})$/, (a, d) => `${d} 时 ${a} 周岁`],
  [/^disability: (.+)$/, (d) => `残疾：${d}`],
  [/^injury or maltreatment diagnosis (.+)$/, (c) => `伤害或虐待诊断 ${c}`],
  [/^last visit more than (\d+) days ago$/, (n) => `超过 ${n} 天未走访`],
  [/^no visit recorded \(period (\d+) days\)$/, (n) => `尚无走访记录（走访周期 ${n} 天）`],
  [/^no parent at home and no capable guardian.*$/, () => "父母均不在家，也没有有监护能力的监护人"],
  [/^serious illness diagnosis (.+)$/, (c) => `重病诊断 ${c}`],
  [/^truancy on (.+)$/, (d) => `${d} 旷课`],
  [/^(\w+) household registration$/, (h) => code("hukou", h)],
  [/^(\w+) deceased.*$/, (r) => `${who(r)}死亡`],
  [/^(\w+) lacks guardianship capacity.*$/, (r) => `${who(r)}无监护能力`],
  [/^(\w+) lives at home.*$/, (r) => `${who(r)}在家`],
  [/^(\w+) missing.*$/, (r) => `${who(r)}失联`],
  [/^(\w+) works away.*$/, (r) => `${who(r)}外出务工`],
  [/^left-behind girl.*$/, () => "留守女童"],
  [/^visit recorded 低保\/特困 or a poor family$/, () => "走访记录为低保/特困或困难家庭"],
  // What a verdict still lacks (protection/classification.py).
  [/^birth date \(Person\.birth_date\)$/, () => "出生日期"],
  [/^household registration type \(hukou_type\)$/, () => "户口类型"],
  [/^(\d+) parent\(s\) not in the graph.*$/, (n) => `${n} 名父母未登记`],
  [/^whether a parent works away.*$/, () => "父母是否外出务工"],
  [/^both parents \(PARENT_OF\)$/, () => "父母双方的信息"],
  [/^no social-assistance .*$/, () => "未接入低保/特困名册，走访也未记录"],
  [/^not under (\d+)$/, (n) => `年龄不在 ${n} 周岁以下`],
];

/** One piece of evidence in words (English mode: as the server wrote it). */
export function evidence(text: string): string {
  if (lang() === "en") return text;
  const s = text.trim();
  for (const [re, fn] of PATTERNS) {
    const m = re.exec(s);
    if (m) return fn(...m.slice(1));
  }
  return s;
}

/** A worklist line "中文规则名: evidence; evidence". */
export function reasonLine(line: string): string {
  const i = line.indexOf(": ");
  if (i < 0) return evidence(line);
  return `${line.slice(0, i)}：${line
    .slice(i + 2)
    .split("; ")
    .map(evidence)
    .join("；")}`;
}
