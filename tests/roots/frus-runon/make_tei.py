"""Write tei/frus-runon.xml: one compilation, one chapter of 28 documents that run on,
with notes, cross-references and page markers, and an index of page locators."""
import random
from pathlib import Path

WORDS = ("the Embassy reported that the Government of Testland would consider the proposal "
         "after consultation with its allies and asked whether the United States was prepared "
         "to extend further assistance under the program agreed upon in January while the "
         "Ambassador noted that the Secretary had discussed the question with the President "
         "and that no decision had been reached on the size of the forces or the timing").split()


def sentence(rnd, n):
    w = [rnd.choice(WORDS) for _ in range(n)]
    return " ".join(w).capitalize() + "."


def main():
    rnd = random.Random(7)
    docs, index, page = [], [], 1
    for d in range(1, 29):
        paras = []
        for k in range(rnd.randint(3, 9)):
            text = " ".join(sentence(rnd, rnd.randint(9, 22)) for _ in range(rnd.randint(1, 5)))
            if k == 1 and d > 2:
                text += f' See <ref target="#d{d - 2}">Document {d - 2}</ref>.'
            if rnd.random() < 0.5:
                n = len([p for p in paras if "<note" in p]) + 2
                text += f'<note n="{n}" xml:id="d{d}fn{n}">{sentence(rnd, rnd.randint(8, 40))}</note>'
            if rnd.random() < 0.35:
                page += 1
                text = f'<pb xml:id="pg_{page}" n="{page}"/>' + text
                index.append(page)
            paras.append(f"<p>{text}</p>")
        docs.append(f'''<div type="document" xml:id="d{d}" n="{d}">
<head>{d}. Telegram From the Embassy in Testland to the Department of State<note n="1" xml:id="d{d}fn1" type="source">Source: Department of State, Central Files, 795.00/{d}–155. Secret.</note></head>
<dateline><date when="1955-{1 + d % 12:02d}-{1 + d % 27:02d}">1955</date></dateline>
{"".join(paras)}
</div>''')
    items = "".join(f'<item>Topic {i}, <ref target="#pg_{p}">{p}</ref></item>' for i, p in enumerate(index[::2], 1))
    tei = f'''<?xml version="1.0" encoding="UTF-8"?>
<TEI xmlns="http://www.tei-c.org/ns/1.0" xmlns:frus="http://history.state.gov/frus/ns/1.0">
<teiHeader><fileDesc><titleStmt><title type="complete">Foreign Relations of the United States, 1955–1957, Testland, Volume XCI</title>
<title type="series">Foreign Relations of the United States</title><editor role="primary">A. Editor</editor></titleStmt>
<publicationStmt><publisher>United States Government Printing Office</publisher><pubPlace>Washington</pubPlace><date>1991</date><idno type="frus">frus-runon</idno></publicationStmt>
<sourceDesc><p>Released in 1991 as printed book.</p></sourceDesc></fileDesc></teiHeader>
<text><body><div type="compilation" xml:id="comp1"><pb xml:id="pg_1" n="1"/><head>Testland</head>
<div type="chapter" xml:id="ch1"><head>Relations With Testland, 1955</head>
{chr(10).join(docs)}
</div></div></body>
<back><div type="section" xml:id="index"><head>Index</head><list type="index">{items}</list></div></back>
</text></TEI>
'''
    Path(__file__).with_name("tei").joinpath("frus-runon.xml").write_text(tei, encoding="utf-8")


if __name__ == "__main__":
    main()
