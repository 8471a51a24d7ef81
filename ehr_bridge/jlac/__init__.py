"""JLAC normalizer service: registered lab masters, mapping results, review decisions, ConceptMap."""
