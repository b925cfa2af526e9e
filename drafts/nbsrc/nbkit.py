import hashlib

import nbformat as nbf
def md(s): return nbf.v4.new_markdown_cell(s.strip("\n"))
def code(s, tags=None, hidden=False):
    c = nbf.v4.new_code_cell(s.strip("\n"))
    if tags: c.metadata["tags"] = list(tags)
    if hidden: c.metadata["jupyter"] = {"source_hidden": True}
    return c
def params():
    return code('MODE = "quick"  # "quick" | "medium" | "full"\nSEED = 0\nDEVICE = "auto"  # "auto" | "cpu" | "cuda"\nSAVE_FIGS = False\nSOLUTIONS = False', tags=["parameters"])
def solution(s):
    return code("if SOLUTIONS:\n" + "\n".join("    " + l if l else l for l in s.strip("\n").split("\n")), tags=["solution"], hidden=True)
def write(cells, path):
    nb = nbf.v4.new_notebook()
    nb.cells = cells
    for i, c in enumerate(cells):  # stable ids: regenerating an unchanged cell changes nothing in git
        c.id = hashlib.sha1(f"{i}:{c.cell_type}:{c.source}".encode()).hexdigest()[:8]
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nbf.write(nb, path)
